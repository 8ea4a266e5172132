/**
 * The `bascule` connector: sends one argv to the Bascule runtime serving the target, with
 * a single-use grant (credential `bascule_ac`) as the bearer token. The runtime checks the
 * grant and the command policy again, runs the argv without a shell and keeps its own audit.
 */
import type { BasculeAcCredential } from '../../credentials/types.js';
import { BastionError } from '../../base/errors.js';
import type { CommandOperation, ExecResult } from '../../transports/types.js';
import { CommandConnector } from '../command/connector.js';
import { ARGV_ONLY } from '../command/operation.js';
import type { RunContext } from '../connector.js';
import { TargetNotConfiguredError } from '../errors.js';
import { postJson } from '../../transports/http-json.js';

const CODE = /^[a-z][a-z0-9_]{1,63}$/;

export class BasculeError extends BastionError {
  /** The runtime's own code, when it refused (a snake_case word, checked). */
  readonly runtimeCode?: string | undefined;
  constructor(code: 'bascule_unreachable' | 'bascule_refused', runtimeCode?: string) {
    super(code);
    this.runtimeCode = runtimeCode;
  }
}

export interface BasculeConnectorOptions {
  /** Per canonical target: the runtime's endpoint (http://host:port or unix:/path). */
  targets: ReadonlyMap<string, string>;
}

export class BasculeConnector extends CommandConnector {
  readonly name = 'bascule';
  readonly credentialType = 'bascule_ac' as const;

  constructor(private readonly options: BasculeConnectorOptions) {
    super(ARGV_ONLY);
  }

  override async run(ctx: RunContext<CommandOperation>): Promise<ExecResult> {
    const endpoint = this.options.targets.get(ctx.target);
    if (endpoint === undefined) throw new TargetNotConfiguredError();
    const grant = (ctx.credential as BasculeAcCredential).token;
    if (grant === undefined) throw new BasculeError('bascule_refused');
    let reply;
    try {
      reply = await postJson(
        endpoint,
        '/v1/exec',
        // The header string is the one copy of the grant outside its Secret; it lives for
        // this request only.
        { authorization: grant.use((bytes) => `Bearer ${bytes.toString('ascii')}`) },
        {
          argv: ctx.operation.argv,
          ...(ctx.operation.stdin !== undefined ? { stdin: ctx.operation.stdin } : {}),
        },
        {
          // The runtime enforces the command's own limit; allow it time to answer.
          timeoutMs: ctx.limits.timeoutMs + 5_000,
          // JSON escaping can make a byte of output six (`\u0000`).
          maxReplyBytes: ctx.limits.maxOutputBytes * 12 + 64 * 1024,
          signal: ctx.signal,
        },
      );
    } catch {
      throw new BasculeError('bascule_unreachable');
    }
    if (reply.status !== 200) {
      const code = (reply.body as { error?: { code?: unknown } } | null)?.error?.code;
      throw new BasculeError(
        'bascule_refused',
        typeof code === 'string' && CODE.test(code) ? code : undefined,
      );
    }
    return reply.body as ExecResult;
  }
}
