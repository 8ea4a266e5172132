/**
 * The exec route, `POST /v1/exec` (`Authorization: Bearer <grant>`, `{"argv": [...],
 * "stdin"?: "..."}`): the grant is judged in onRequest, before the body is read; then the
 * body, the grant's command policy, exec_start in the audit (nothing runs unrecorded), the
 * run and exec_end. Every refused reply of the route is audited as `deny` with its code.
 */
import type { FastifyInstance } from 'fastify';
import { BastionError, InvalidArgumentError } from '../base/errors.js';
import { commandAllowed } from '../governance/accords.js';
import type { ExecLimits, ExecResult } from '../transports/types.js';
import { BasculeAuditError } from './audit.js';
import { BasculeExecError, isValidArgv, runArgv } from './exec.js';
import type { GrantVerifier } from './grant.js';
import { BasculeRefusalError } from './refusals.js';
import type { RequestRecords } from './requests.js';

const EXEC_ROUTE = '/v1/exec';
const MAX_STDIN_BYTES = 64 * 1024;

export interface ExecRouteOptions {
  readonly grants: GrantVerifier;
  readonly records: RequestRecords;
  readonly limits: ExecLimits;
  readonly cwd: string;
  readonly pathEnv: string;
  /** Aborted on shutdown: running commands are killed. */
  readonly signal: AbortSignal;
}

interface ExecBody {
  argv: string[];
  stdin?: string;
}

const execBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['argv'],
  properties: {
    argv: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: { type: 'string', maxLength: 4096 },
    },
    stdin: { type: 'string', maxLength: MAX_STDIN_BYTES },
  },
} as const;

/**
 * With a command policy, the joined argv must read back as the argv: an empty element or
 * spaces at an element's ends or doubled (`["rm", "", "-rf", "/x"]` joins to `rm  -rf /x`)
 * would let a command slip past a deny pattern written for its usual spelling.
 */
function joinsUnambiguously(argv: readonly string[]): boolean {
  return argv.every((arg) => arg !== '' && arg.trim() === arg && !arg.includes('  '));
}

function codeOfPayload(payload: unknown): string {
  if (typeof payload !== 'string') return 'unknown';
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Adds the exec route and the `deny` audit of its refusals to `app`. */
export function registerExecRoute(app: FastifyInstance, options: ExecRouteOptions): void {
  const { grants, records, limits, cwd, pathEnv, signal } = options;

  // One place sees every reply of the exec route, whatever refused it: Fastify's parser
  // and validator included.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.url !== EXEC_ROUTE || reply.statusCode < 400) return payload;
    const state = records.stateOf(request);
    if (state.started === true) return payload;
    const code = codeOfPayload(payload);
    request.log.warn({ code, jti: state.claims?.jti ?? state.jti }, 'bascule refused');
    try {
      await records.record(request, {
        type: 'deny',
        outcome: code,
        ...(state.argv !== undefined ? { detail: { argv: state.argv } } : {}),
      });
    } catch (err) {
      request.log.error({ err, code }, 'bascule audit failed for a refusal');
    }
    return payload;
  });

  app.post<{ Body: ExecBody }>(
    EXEC_ROUTE,
    {
      schema: { body: execBodySchema },
      onRequest: async (request) =>
        grants.authenticate(request.headers.authorization, records.stateOf(request)),
    },
    async (request, reply) => {
      const state = records.stateOf(request);
      const claims = state.claims;
      // onRequest guarantees this; a route without it must not run anything.
      if (claims === undefined) throw new BasculeRefusalError('bascule_grant_missing');
      const { argv, stdin } = request.body;
      state.argv = argv;
      if (!isValidArgv(argv)) throw new BasculeExecError('bascule_argv_invalid');
      const input = stdin === undefined ? undefined : Buffer.from(stdin, 'utf8');
      if (input !== undefined && input.byteLength > MAX_STDIN_BYTES)
        throw new InvalidArgumentError('stdin');

      const policy = claims.ctx.commands;
      if (
        policy !== undefined &&
        (!joinsUnambiguously(argv) ||
          !commandAllowed({ allow: [...policy.allow], deny: [...policy.deny] }, argv.join(' ')))
      ) {
        throw new BasculeRefusalError('bascule_command_denied');
      }

      try {
        await records.record(request, { type: 'exec_start', detail: { argv } });
      } catch (err) {
        request.log.error({ err, jti: claims.jti }, 'bascule audit failed; not running');
        throw err instanceof BasculeAuditError
          ? err
          : new BasculeAuditError('bascule_audit_unavailable', { cause: err });
      }
      state.started = true;

      let result: ExecResult;
      try {
        result = await runArgv(argv, {
          limits,
          cwd,
          pathEnv,
          signal,
          ...(input !== undefined ? { stdin: input } : {}),
        });
      } catch (err) {
        const code = err instanceof BastionError ? err.code : 'internal_error';
        await records
          .record(request, { type: 'exec_end', outcome: code })
          .catch((auditErr: unknown) =>
            request.log.error({ err: auditErr }, 'bascule audit failed for exec_end'),
          );
        request.log.warn({ jti: claims.jti, code }, 'bascule exec failed');
        throw err;
      }
      const detail = {
        exit_code: result.exit_code,
        ...(result.signal !== undefined ? { signal: result.signal } : {}),
        duration_ms: result.duration_ms,
        stdout_truncated: result.stdout_truncated,
        stderr_truncated: result.stderr_truncated,
        timed_out: result.timed_out,
      };
      try {
        await records.record(request, { type: 'exec_end', outcome: 'ok', detail });
      } catch (err) {
        // The command has run: its result is returned; the gap is loud in the log, and the
        // next request finds the audit refusing (503) if it could not recover.
        request.log.error({ err, jti: claims.jti }, 'bascule audit failed for exec_end');
      }
      request.log.info({ jti: claims.jti, ac: claims.ac, ...detail }, 'bascule exec');
      return reply.code(200).send(result);
    },
  );
}
