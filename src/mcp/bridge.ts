/**
 * The MCP bridge: the tools an agent (an LLM, through its MCP host) calls to ask for access
 * and act under it without ever holding a credential, or even an AC. The bridge holds the
 * agent's own did:key (inside the BastionClient) and the ACs issued to it (held-acs.ts);
 * the tools are in tools.ts, their operation schemas come from the connectors (operations.ts).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { InvalidArgumentError } from '../base/errors.js';
import type { Registry } from '../base/registry.js';
import { invalidArgumentFrom } from '../base/zod-issues.js';
import type { BastionClient } from '../client/client.js';
import type { ConnectorPlugin } from '../connectors/plugin.js';
import { connectorRegistry } from '../connectors/registry.js';
import { AuditTail } from './audit-tail.js';
import { HeldAcs } from './held-acs.js';
import { errorResult, toolResult } from './results.js';
import { bridgeTools, INSTRUCTIONS } from './tools.js';

export { BridgeError } from './tool-kit.js';
export { fitJson } from './results.js';

export interface BridgeOptions {
  /** The agent's client: its did:key signs every request to the broker. */
  client: BastionClient;
  limits?: {
    /** Longest tool result text, in characters; larger results are cut to fit. Default 64 KiB. */
    maxResultChars?: number;
  };
  /**
   * Told about errors that are neither the broker's nor Bastion's (a bug): the agent only
   * sees `internal_error`. Do not log the error's text where the agent or others can read it.
   */
  onInternalError?: (err: unknown) => void;
  /** The connector kinds whose operations `invoke` describes; the built-in ones by default. */
  connectors?: Registry<ConnectorPlugin>;
}

export const DEFAULT_MAX_RESULT_CHARS = 64 * 1024;

interface BridgeState {
  readonly acs: HeldAcs;
  readonly audit: AuditTail;
}

// Over HTTP each request gets a new server: what the bridge holds lives with the client.
const states = new WeakMap<BastionClient, BridgeState>();

function stateOf(client: BastionClient): BridgeState {
  let state = states.get(client);
  if (state === undefined) {
    state = { acs: new HeldAcs(), audit: new AuditTail() };
    states.set(client, state);
  }
  return state;
}

type Handler = (args: unknown) => Promise<CallToolResult>;

export function createBridgeServer(options: BridgeOptions): McpServer {
  const { client, onInternalError } = options;
  const maxChars = options.limits?.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  if (!Number.isInteger(maxChars) || maxChars < 1024)
    throw new InvalidArgumentError('limits.maxResultChars (an integer of at least 1024)');
  const state = stateOf(client);
  const server = new McpServer(
    { name: 'bastion', version: '0.1.0' },
    { instructions: INSTRUCTIONS, capabilities: { tools: {} } },
  );
  const handlers = new Map<string, Handler>();
  const tools = bridgeTools({
    client,
    acs: state.acs,
    audit: state.audit,
    connectors: options.connectors ?? connectorRegistry,
    maxChars,
  });

  const run = async (work: () => Promise<Record<string, unknown>>): Promise<CallToolResult> => {
    try {
      return toolResult(await work(), maxChars);
    } catch (err) {
      return errorResult(err, onInternalError);
    }
  };

  for (const tool of tools) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: tool.annotations,
      },
      (args: unknown) => run(() => tool.work(args)),
    );
    handlers.set(tool.name, async (raw) => {
      const parsed = tool.input.safeParse(raw ?? {});
      if (!parsed.success) return errorResult(invalidArgumentFrom('arguments', parsed.error));
      return run(() => tool.work(parsed.data));
    });
  }

  // The list of tools never changes while a server lives: registering tools made the SDK
  // advertise list-change notifications, which would send hosts waiting for them.
  server.server.registerCapabilities({ tools: { listChanged: false } });

  // Calls go through the same schemas, but a bad argument becomes a tool error in the
  // bridge's JSON form (`invalid_argument`, for the model to correct) instead of the SDK's
  // free text. An unknown tool is the host's mistake, not the model's: a protocol error
  // (MCP spec, "Tools": error handling), with a fixed message.
  server.server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const handler = handlers.get(request.params.name);
    if (handler === undefined) throw new McpError(ErrorCode.InvalidParams, 'Unknown tool');
    return handler(request.params.arguments);
  });
  return server;
}
