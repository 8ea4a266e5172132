/**
 * The MCP bridge: the tools an agent (an LLM, through its MCP host) calls to ask for access
 * and act under it without ever holding a credential, or even an AC. The bridge holds the
 * agent's own did:key (inside the BastionClient) and the ACs issued to it; the agent names an
 * AC by its `ac_id` only, and the connector and target of every invocation come from the AC,
 * never from the agent.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AuditEntry } from '../base/audit-records.js';
import { type BastionClient, BrokerError } from '../client/client.js';
import { Secret } from '../credentials/secret.js';
import { AcExpiredError, BastionError, InvalidArgumentError } from '../base/errors.js';
import { CAPABILITIES } from '../governance/capabilities.js';
import { canonicalTarget } from '../governance/targets.js';

type BridgeCode =
  | 'override_refused'
  | 'ac_unknown_to_bridge'
  | 'ac_pending_approval'
  | 'ac_revoked'
  | 'unknown_tool';

export class BridgeError extends BastionError {
  declare readonly code: BridgeCode;
  constructor(code: BridgeCode) {
    super(code);
  }
}

const overrideRefused = (): BridgeError => new BridgeError('override_refused');

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
}

export const DEFAULT_MAX_RESULT_CHARS = 64 * 1024;
/** ACs held at once per client; the oldest is forgotten first (the broker can re-send it). */
const MAX_HELD_ACS = 256;
/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const AUDIT_PAGE = 1000;
const AUDIT_PAGES_PER_CALL = 20;
const AUDIT_KEEP = 200;
const AUDIT_FILTERS = 32;
const SAFE_CODE = /^[a-z][a-z0-9_]{1,63}$/;

/**
 * The ACs issued to this agent, by ac_id, each in a Secret that is zero-filled when it is
 * dropped: at its expiry, when it is revoked, or when the map is full. A dropped token is
 * not lost — the broker shows an active AC to the key it is bound to — so this map only
 * saves a round trip and keeps the token out of every tool result.
 */
class HeldAcs {
  readonly #held = new Map<string, { token: Secret; timer: NodeJS.Timeout }>();

  put(acId: string, token: string, expiresAt: string | undefined): void {
    const until = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
    if (!Number.isFinite(until) || until <= Date.now()) return;
    this.drop(acId);
    while (this.#held.size >= MAX_HELD_ACS) {
      const oldest = this.#held.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
    this.#held.set(acId, { token: Secret.fromString(token), timer: this.#arm(acId, until) });
  }

  get(acId: string): string | undefined {
    return this.#held.get(acId)?.token.use((bytes) => bytes.toString('utf8'));
  }

  drop(acId: string): void {
    const entry = this.#held.get(acId);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    entry.token.dispose();
    this.#held.delete(acId);
  }

  #arm(acId: string, until: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        const entry = this.#held.get(acId);
        if (entry?.timer !== timer) return;
        if (Date.now() >= until) this.drop(acId);
        else entry.timer = this.#arm(acId, until);
      },
      Math.min(Math.max(until - Date.now(), 0), MAX_TIMER_MS),
    );
    // A held AC must never keep the bridge process alive.
    timer.unref();
    return timer;
  }
}

/**
 * The newest audit entries per filter. Entries are immutable (hash-chained), so what was
 * read once is kept (at most AUDIT_KEEP per filter) and the next call only pages forward
 * from there: the broker pages oldest first, and reading the whole trail every time would
 * cost the agent's rate limit.
 */
class AuditTail {
  readonly #byFilter = new Map<string, { after: number; entries: AuditEntry[] }>();

  async read(
    client: BastionClient,
    acId: string | undefined,
    limit: number,
  ): Promise<{ entries: AuditEntry[]; complete: boolean }> {
    const key = acId ?? '';
    let state = this.#byFilter.get(key) ?? { after: 0, entries: [] };
    let complete = false;
    for (let page = 0; page < AUDIT_PAGES_PER_CALL; page++) {
      const reply = await client.audit({
        ...(state.after > 0 ? { after: state.after } : {}),
        limit: AUDIT_PAGE,
        ...(acId !== undefined ? { ac_id: acId } : {}),
      });
      const last = reply.entries.at(-1);
      if (last !== undefined) {
        state = {
          after: last.seq,
          entries: [...state.entries, ...reply.entries].slice(-AUDIT_KEEP),
        };
      }
      if (reply.next_after === null || last === undefined) {
        complete = true;
        break;
      }
    }
    // Most recently used last; the least recently used filter is forgotten first.
    this.#byFilter.delete(key);
    this.#byFilter.set(key, state);
    for (const old of this.#byFilter.keys()) {
      if (this.#byFilter.size <= AUDIT_FILTERS) break;
      this.#byFilter.delete(old);
    }
    return { entries: state.entries.slice(-limit), complete };
  }
}

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

// ---------------------------------------------------------------------------------------
// Input schemas. Bounds mirror the broker's; the broker validates again, strictly.

const acId = z
  .string()
  .regex(/^[0-9a-f-]{36}$/)
  .describe('The ac_id returned by request_access, or given to you by the human who delegated it');

const stdin = z.string().max(65536).describe("Text for the command's standard input").optional();

const argvOperation = z.strictObject({
  argv: z
    .array(z.string().max(4096))
    .min(1)
    .max(256)
    .describe(
      'The program and its arguments, one element each, e.g. ["systemctl", "status", "nginx"]. ' +
        'No empty elements and no leading, trailing or doubled spaces inside one.',
    ),
  stdin,
});

const commandOperation = z.strictObject({
  command: z
    .string()
    .min(1)
    .max(8192)
    .describe(
      'A command line (ssh only). Under a command policy it must hold no shell syntax ' +
        '(pipes, ;, &&, redirections, $(...), quotes): prefer argv.',
    ),
  stdin,
});

// As the http connector reads it (src/connectors/http-connector.ts); the broker checks it.
const httpOperation = z.strictObject({
  method: z
    .enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
    .describe('GET and HEAD need the read capability, the others write'),
  path: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^\//)
    .describe("Path relative to the AC's target URL, starting with /, without the query"),
  query: z.record(z.string(), z.string()).describe('Query parameters').optional(),
  headers: z
    .record(z.string(), z.string())
    .describe(
      'Extra request headers; never Authorization, Host or hop-by-hop headers: the broker adds the credential',
    )
    .optional(),
  body: z
    .string()
    .describe('The request body as text (for JSON, the serialized JSON); not with GET or HEAD')
    .optional(),
});

const operation = z
  .union([argvOperation, commandOperation, httpOperation])
  .describe(
    "What to do; its shape depends on the AC's connector. ssh: {argv} or {command}, optional " +
      'stdin. bascule: {argv} only (run without a shell), optional stdin. http: {method, path, ' +
      'query?, headers?, body?}.',
  );

const COMMAND_CONNECTORS = new Set(['ssh', 'bascule', 'winrm']);

/** Loose shape check against the AC's connector; the broker checks the rest. */
function checkOperationFits(connector: string, op: z.infer<typeof operation>): void {
  const isCommand = 'argv' in op || 'command' in op;
  if (COMMAND_CONNECTORS.has(connector) && !isCommand) {
    throw new InvalidArgumentError(
      `operation (the AC's connector ${connector} runs commands: give argv or command)`,
    );
  }
  if (connector === 'http' && isCommand) {
    throw new InvalidArgumentError(
      "operation (the AC's connector http takes method and path, not a command)",
    );
  }
}

/** A validation failure in words chosen here: schema names and bounds, never input. */
function invalidArguments(error: z.ZodError): InvalidArgumentError {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' || /^[a-z_]{1,32}$/.test(String(p)) ? String(p) : '…'))
      .join('.');
    let why: string;
    switch (issue.code) {
      case 'invalid_type':
        why = `expected ${issue.expected}`;
        break;
      case 'invalid_value':
        why = `expected one of ${issue.values.map(String).join(', ')}`;
        break;
      case 'too_small':
        why = `at least ${String(issue.minimum)}`;
        break;
      case 'too_big':
        why = `at most ${String(issue.maximum)}`;
        break;
      case 'unrecognized_keys':
        why = 'unknown field';
        break;
      case 'invalid_union':
        why = 'matches none of the accepted shapes';
        break;
      case 'invalid_format':
        why = 'wrong format';
        break;
      default:
        why = 'invalid';
    }
    return path === '' ? why : `${path}: ${why}`;
  });
  return new InvalidArgumentError(`arguments (${parts.join('; ')})`);
}

// ---------------------------------------------------------------------------------------
// Results.

function textResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }] };
}

/** `{"error":{"code","message"}}`: the broker's code, or the bridge's; never a stack or token. */
function errorResult(err: unknown, onInternalError?: (err: unknown) => void): CallToolResult {
  let code: string = 'internal_error';
  let message = 'Internal error';
  if (err instanceof BrokerError) {
    // The broker's codes and messages are fixed text; bound them anyway.
    code = SAFE_CODE.test(err.code) ? err.code : 'unknown_error';
    message = err.message.slice(0, 500);
  } else if (err instanceof BastionError) {
    code = err.code;
    message = err.message;
  } else {
    onInternalError?.(err);
  }
  return { ...textResult(JSON.stringify({ error: { code, message } })), isError: true };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The longest string inside `value`, with a way to replace it. */
function longestString(value: Json): { text: string; set: (s: string) => void } | undefined {
  let best: { text: string; set: (s: string) => void } | undefined;
  const visit = (node: Json): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        if (typeof child === 'string') {
          if (best === undefined || child.length > best.text.length)
            best = { text: child, set: (s) => (node[i] = s) };
        } else visit(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [k, child] of Object.entries(node)) {
        if (typeof child === 'string') {
          if (best === undefined || child.length > best.text.length)
            best = { text: child, set: (s) => (node[k] = s) };
        } else visit(child);
      }
    }
  };
  visit(value);
  return best;
}

/**
 * JSON text of `value` in at most `max` characters. Too long, the longest strings (command
 * output, bodies) are cut first, so that what comes back is still valid JSON, and
 * `truncated_by_bridge` says so.
 */
export function fitJson(value: Record<string, unknown>, max: number): string {
  const text = JSON.stringify(value);
  if (text.length <= max) return text;
  const copy = JSON.parse(text) as { [key: string]: Json };
  const marked = (): string =>
    JSON.stringify({ ...copy, truncated_by_bridge: true, max_result_chars: max });
  for (let round = 0; round < 64; round++) {
    const over = marked().length - max;
    if (over <= 0) return marked();
    const leaf = longestString(copy);
    if (leaf === undefined || leaf.text.length === 0) break;
    // One character serializes to at least one: cutting `over` of them is always enough.
    leaf.set(leaf.text.slice(0, Math.max(0, leaf.text.length - over - 16)));
  }
  if (marked().length <= max) return marked();
  return JSON.stringify({
    truncated_by_bridge: true,
    max_result_chars: max,
    note: 'The result is too large to return; ask for less.',
  }).slice(0, max);
}

// ---------------------------------------------------------------------------------------

const INSTRUCTIONS =
  'Bastion governs what you may do on infrastructure, and you never hold a password, key or ' +
  'token. See what you may ask for with list_accords; ask with request_access (least ' +
  'capability, shortest duration, a clear justification); act with invoke, naming the AC by ' +
  'its ac_id; revoke the AC when the work is done. Every step is audited (audit_tail).';

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

  const run = async (work: () => Promise<Record<string, unknown>>): Promise<CallToolResult> => {
    try {
      return textResult(fitJson(await work(), maxChars));
    } catch (err) {
      return errorResult(err, onInternalError);
    }
  };

  function tool<S extends z.ZodRawShape>(
    name: string,
    config: { title: string; description: string; annotations: ToolAnnotations; input: S },
    work: (args: z.output<z.ZodObject<S, z.core.$strict>>) => Promise<Record<string, unknown>>,
  ): void {
    // Strict: a misspelt field is refused, never silently dropped.
    const schema = z.strictObject(config.input);
    server.registerTool<z.ZodRawShape, typeof schema>(
      name,
      {
        title: config.title,
        description: config.description,
        inputSchema: schema,
        annotations: config.annotations,
      },
      (args: z.output<typeof schema>) => run(() => work(args)),
    );
    handlers.set(name, async (raw) => {
      const parsed = schema.safeParse(raw ?? {});
      if (!parsed.success) return errorResult(invalidArguments(parsed.error));
      return run(() => work(parsed.data));
    });
  }

  tool(
    'list_accords',
    {
      title: 'What this agent may ask for',
      description:
        "List the accords this agent may use, and this agent's own DID. An accord is a standing " +
        'policy: which connectors (ssh, bascule, http, ...), targets (host or URL patterns) and ' +
        'capabilities (read, exec, write, admin) an access request under it may name, the ' +
        'longest duration it grants, the commands it allows or denies, and how many human ' +
        'approvals it needs. `as: "principal"` means you may call request_access under it ' +
        'yourself. `as: "delegate"` means you may not request under it: a human principal must ' +
        'request an AC for you (delegate it to your DID) and give you its ac_id, which you then ' +
        'pass to invoke. No arguments.',
      annotations: { readOnlyHint: true, openWorldHint: false },
      input: {},
    },
    async () => {
      const { accords } = await client.accords();
      return { agent_did: client.did, accords };
    },
  );

  tool(
    'request_access',
    {
      title: 'Ask for an authorization context (AC)',
      description:
        'Ask the broker for an AC: the right to act on one target through one connector, for a ' +
        'limited time, under an accord you are a principal of (see list_accords). Returns an ' +
        'ac_id — never the AC itself, which stays inside this bridge — and a status: "active" ' +
        '(use the ac_id with invoke until expires_at) or "pending_approval" (approvals_required ' +
        'humans must approve first; invoke works once they have). Ask for the least you need: ' +
        'only the capabilities the work needs (running a command needs exec), the shortest ' +
        'duration that fits, and say why in justification (approvers and the audit trail see ' +
        'it). A refusal is an error whose code names the rule broken: unknown_accord, ' +
        'principal_not_allowed, connector_not_allowed, target_not_allowed, ' +
        'capability_not_granted, duration_exceeds_max, outside_time_window.',
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
      input: {
        accord: z.string().min(1).max(64).describe('The accord id, from list_accords'),
        connector: z
          .string()
          .min(1)
          .max(32)
          .describe("One of the accord's connectors, e.g. ssh, bascule, http"),
        target: z
          .string()
          .min(1)
          .max(2048)
          .describe(
            "The one host name, IP address or https:// URL to act on; must match one of the accord's target patterns",
          ),
        capabilities: z
          .array(z.enum(CAPABILITIES as [string, ...string[]]))
          .min(1)
          .max(16)
          .describe('What the AC may do: read, exec (run commands), write, admin'),
        duration_seconds: z
          .number()
          .int()
          .min(1)
          .max(31_536_000)
          .describe("How long the AC lasts, in seconds; at most the accord's max_duration_seconds"),
        justification: z
          .string()
          .max(1024)
          .describe('Why you need this access, for the approvers and the audit trail')
          .optional(),
      },
    },
    async (args) => {
      const result = await client.authorize({
        accord: args.accord,
        connector: args.connector,
        target: args.target,
        capabilities: args.capabilities,
        duration_seconds: args.duration_seconds,
        ...(args.justification !== undefined ? { justification: args.justification } : {}),
      });
      if (result.status === 'active') {
        state.acs.put(result.ac_id, result.ac, result.expires_at);
        return { ac_id: result.ac_id, status: result.status, expires_at: result.expires_at };
      }
      return {
        ac_id: result.ac_id,
        status: result.status,
        approvals_required: result.approvals_required,
      };
    },
  );

  tool(
    'invoke',
    {
      title: 'Act under an AC',
      description:
        'Run one operation under an AC you hold, named by its ac_id (from request_access, or ' +
        "delegated to you by a human). The connector and target are the AC's own: leave " +
        'connector and target out (different ones are refused with override_refused). The ' +
        "operation's shape depends on the AC's connector: ssh takes {argv: [...]} (preferred) or " +
        '{command: "..."}, optional stdin; bascule takes {argv: [...]} only, run without a ' +
        "shell; http takes {method, path, query?, headers?, body?}. The accord's command policy " +
        "applies: a refused operation is an error with the broker's code (command_not_allowed, " +
        'shell_syntax_not_allowed, capability_missing, ac_revoked, ac_expired, ...) and nothing ' +
        "runs. Returns the connector's result as JSON (for commands: exit_code, stdout, stderr, " +
        'stdout_truncated, stderr_truncated, timed_out, duration_ms) and which short-lived ' +
        'credential the broker used for it (type and fingerprint only: you never see a ' +
        'credential). A result too large to return is cut, with truncated_by_bridge: true.',
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
      input: {
        ac_id: acId,
        operation,
        target: z
          .string()
          .min(1)
          .max(2048)
          .describe("Leave out: the target is the AC's. If given, it must be the AC's own.")
          .optional(),
        connector: z
          .string()
          .min(1)
          .max(32)
          .describe("Leave out: the connector is the AC's. If given, it must be the AC's own.")
          .optional(),
      },
    },
    async (args) => {
      const view = await client.show(args.ac_id);
      if (view.status !== 'active') {
        if (view.status !== 'pending_approval') state.acs.drop(args.ac_id);
        throw view.status === 'revoked'
          ? new BridgeError('ac_revoked')
          : view.status === 'expired'
            ? new AcExpiredError()
            : new BridgeError('ac_pending_approval');
      }
      // The AC decides where and how; the agent may only repeat it.
      if (args.connector !== undefined && args.connector !== view.connector)
        throw overrideRefused();
      if (args.target !== undefined) {
        let canonical: string;
        try {
          canonical = canonicalTarget(args.target);
        } catch {
          throw overrideRefused();
        }
        if (canonical !== canonicalTarget(view.target)) throw overrideRefused();
      }
      checkOperationFits(view.connector, args.operation);
      let token = state.acs.get(args.ac_id);
      if (token === undefined && view.ac !== undefined) {
        // Delegated by a human, approved since, or forgotten: the broker re-sends it to us.
        token = view.ac;
        state.acs.put(args.ac_id, token, view.expires_at);
      }
      if (token === undefined) {
        throw new BridgeError('ac_unknown_to_bridge');
      }
      let response: Awaited<ReturnType<typeof client.invoke>>;
      try {
        response = await client.invoke(view.connector, token, {
          target: view.target,
          operation: args.operation,
        });
      } catch (err) {
        // Revoked or expired between show and invoke: the token is worth nothing now.
        if (err instanceof BrokerError && /^ac_(revoked|expired)$/.test(err.code))
          state.acs.drop(args.ac_id);
        throw err;
      }
      // Fields named one by one: nothing the broker may add later leaves unseen.
      return {
        invocation_id: response.invocation_id,
        ac_id: response.ac_id,
        connector: response.connector,
        target: response.target,
        result: response.result,
        credential: {
          type: response.credential.type,
          issued_by: response.credential.issued_by,
          fingerprint: response.credential.fingerprint,
          expires_at: response.credential.expires_at,
        },
      };
    },
  );

  tool(
    'revoke',
    {
      title: 'Revoke an AC',
      description:
        'Revoke an AC as soon as the work is done, or at once if something looks wrong: nobody ' +
        'can use it again. Returns its final status.',
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
      input: { ac_id: acId },
    },
    async (args) => {
      const view = await client.revoke(args.ac_id);
      state.acs.drop(args.ac_id);
      return {
        ac_id: view.ac_id,
        status: view.status,
        ...(view.revoked_at !== undefined ? { revoked_at: view.revoked_at } : {}),
      };
    },
  );

  tool(
    'audit_tail',
    {
      title: 'Recent audit entries',
      description:
        'The most recent entries of the audit trail about you, oldest first (the broker shows ' +
        'an agent only its own entries): authorize, approve, revoke, deny (a refused request ' +
        'and its code), and per invocation invoke_start, credential_issue, credential_discard ' +
        "and invoke_end with the outcome. Give ac_id for one AC's entries only. complete: false " +
        'means the trail is long and not all of it was read yet: call again for newer entries.',
      annotations: { readOnlyHint: true, openWorldHint: false },
      input: {
        limit: z
          .number()
          .int()
          .min(1)
          .max(200)
          .describe('How many of the newest entries to return (default 20)')
          .optional(),
        ac_id: acId.optional(),
      },
    },
    async (args) => {
      const { entries, complete } = await state.audit.read(client, args.ac_id, args.limit ?? 20);
      // Too large: drop the oldest entries, keep the newest whole.
      let kept = entries;
      const reply = (): Record<string, unknown> => ({
        entries: kept,
        complete,
        ...(kept.length < entries.length ? { omitted_oldest: entries.length - kept.length } : {}),
      });
      while (kept.length > 1 && JSON.stringify(reply()).length > maxChars) kept = kept.slice(1);
      return reply();
    },
  );

  // Calls go through the same schemas, but a bad argument becomes a tool error in the
  // bridge's JSON form (`invalid_argument`) instead of the SDK's free text.
  server.server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const handler = handlers.get(request.params.name);
    if (handler === undefined) {
      return errorResult(new BridgeError('unknown_tool'));
    }
    return handler(request.params.arguments);
  });
  return server;
}
