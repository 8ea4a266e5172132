/**
 * What the bridge's tools share: the definition of a tool (its strict input schema, its
 * description for the model, its work), the context they act in, and the bridge's errors.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { BastionError } from '../base/errors.js';
import type { Registry } from '../base/registry.js';
import type { BastionClient } from '../client/client.js';
import type { ConnectorPlugin } from '../connectors/plugin.js';
import type { AuditTail } from './audit-tail.js';
import type { HeldAcs } from './held-acs.js';

type BridgeCode =
  | 'override_refused'
  | 'ac_unknown_to_bridge'
  | 'ac_pending_approval'
  | 'ac_revoked'
  | 'result_too_large';

export class BridgeError extends BastionError {
  declare readonly code: BridgeCode;
  constructor(code: BridgeCode) {
    super(code);
  }
}

export const overrideRefused = (): BridgeError => new BridgeError('override_refused');

export const acId = z
  .string()
  .regex(/^[0-9a-f-]{36}$/)
  .describe('The ac_id returned by request_access, or given to you by the human who delegated it');

export interface ToolDefinition {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly annotations: ToolAnnotations;
  /** Strict: a misspelt field is refused, never silently dropped. */
  readonly input: z.ZodObject;
  /**
   * What a result holds (`structuredContent`, and the same JSON as text). Loose: a result
   * cut to fit says so in fields of its own (`truncated_by_bridge`).
   */
  readonly output: z.ZodObject;
  work(args: unknown): Promise<Record<string, unknown>>;
}

export interface ToolContext {
  readonly client: BastionClient;
  readonly acs: HeldAcs;
  readonly audit: AuditTail;
  readonly connectors: Registry<ConnectorPlugin>;
  readonly maxChars: number;
}

export function defineTool<S extends z.ZodRawShape, O extends z.ZodRawShape>(
  name: string,
  config: {
    title: string;
    description: string;
    annotations: ToolAnnotations;
    input: S;
    output: O;
  },
  work: (args: z.output<z.ZodObject<S, z.core.$strict>>) => Promise<Record<string, unknown>>,
): ToolDefinition {
  const input = z.strictObject(config.input);
  const output = z.looseObject(config.output);
  return {
    name,
    title: config.title,
    description: config.description,
    annotations: config.annotations,
    input,
    output,
    // Checked on the way out: a result that drifts from its schema is a bug, not a reply.
    work: async (args) => output.parse(await work(args as z.output<typeof input>)),
  };
}
