/**
 * The Bascule runtime: a small HTTP server on the target host that runs one argv per
 * broker-minted grant. The broker holds no credential for the target: what lets a command
 * run here is a grant — a token in the AC format signed by the broker's AC key, for this
 * instance (`aud` = urn:bastion:bascule:<name>), at most 60 s long and single use — and the
 * command policy the grant carries.
 *
 * `POST /v1/exec` (`Authorization: Bearer <grant>`, `{"argv": [...], "stdin"?: "..."}`) is
 * judged in this order, each refusal with its own code:
 *   grant present (401 bascule_grant_missing)
 *   → verifyAc against the broker's JWKS (401 ac_*; a grant already used is refused as
 *     401 bascule_grant_replayed: the runtime's `isRevoked` records each jti and is true
 *     for one it has seen, until the grant could no longer verify anyway)
 *   → lifetime exp − iat ≤ 60 s (401 bascule_grant_lifetime)
 *   → ctx.connector is `bascule` and ctx.target is this instance (403 bascule_wrong_target)
 *   → the exec capability (403 bascule_capability_missing)
 *   → then the body: its schema (400 invalid_request, 413, 415), a runnable argv
 *     (400 bascule_argv_invalid)
 *   → the grant's command policy over argv joined by spaces (403 bascule_command_denied)
 *   → audit exec_start (503 bascule_audit_unavailable: nothing runs)
 *   → run (404 bascule_command_not_found, 500 bascule_exec_failed) → audit exec_end → 200.
 * The grant is checked before the body is read, so nothing unauthenticated reaches the JSON
 * parser; a grant spent on a request that is then refused stays spent.
 *
 * Every refusal is audited as `deny` with its code; every run as exec_start/exec_end.
 * Logs are JSON lines on stderr and never carry the grant.
 */
import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Clock, systemClock } from '../base/clock.js';
import { BastionError, ConfigError, InvalidArgumentError } from '../base/errors.js';
import { type AcClaims, verifyAc } from '../governance/ac.js';
import { commandAllowed } from '../governance/accords.js';
import { AuthenticationError } from '../governance/auth-errors.js';
import { hasCapabilities } from '../governance/capabilities.js';
import { canonicalTarget } from '../governance/targets.js';
import { REDACT_PATHS } from '../base/logger.js';
import { installErrorHandling } from '../edge/errors.js';
import { DEFAULT_EXEC_LIMITS, type ExecLimits, type ExecResult } from '../transports/types.js';
import { BasculeAuditError, BasculeAuditLog, type BasculeAuditEvent } from './audit.js';
import { BasculeExecError, DEFAULT_CWD, DEFAULT_PATH, isValidArgv, runArgv } from './exec.js';
import { JwksCache } from './jwks.js';

export const DEFAULT_ISSUER = 'urn:bastion:broker';
/** A grant lives at most this long (exp − iat); the broker mints 60 s or less. */
export const MAX_GRANT_LIFETIME_SECONDS = 60;
export const BODY_LIMIT = 64 * 1024;
const MAX_STDIN_BYTES = 64 * 1024;
/** Grants remembered at once; more than this many live grants at once is refused (503). */
const MAX_REMEMBERED_GRANTS = 100_000;
const SWEEP_INTERVAL_MS = 60_000;
const EXEC_ROUTE = '/v1/exec';

/** The `aud` of grants for this instance; the broker's bascule backend mints the same. */
function audienceFor(name: string): string {
  return `urn:bastion:bascule:${name}`;
}

export type BasculeRefusalCode =
  | 'bascule_grant_missing'
  | 'bascule_grant_replayed'
  | 'bascule_grant_lifetime'
  | 'bascule_wrong_target'
  | 'bascule_capability_missing'
  | 'bascule_command_denied'
  | 'bascule_busy';

export class BasculeRefusalError extends BastionError {
  declare readonly code: BasculeRefusalCode;

  constructor(code: BasculeRefusalCode) {
    super(
      code,
      code === 'bascule_grant_lifetime' ? { details: [String(MAX_GRANT_LIFETIME_SECONDS)] } : {},
    );
  }
}

export interface BasculeOptions {
  /** This instance's canonical target name (what grants name in `ctx.target` and `aud`). */
  readonly name: string;
  /** The broker's JWKS URL: https, or http to a loopback address. */
  readonly jwksUrl: string;
  /** Expected grant `iss`; default urn:bastion:broker. */
  readonly issuer?: string | undefined;
  /** TCP listener; exactly one of `listen` and `socket`. */
  readonly listen?: { readonly host: string; readonly port: number } | undefined;
  /** Unix socket path, created 0600 (a dead socket left by a crash is replaced). */
  readonly socket?: string | undefined;
  /** The audit file (JSON Lines, 0600), created or resumed. */
  readonly auditFile: string;
  readonly limits?: ExecLimits | undefined;
  /** Working directory and HOME of commands; default `/`. */
  readonly cwd?: string | undefined;
  /** PATH of commands; default /usr/local/bin:/usr/bin:/bin. */
  readonly pathEnv?: string | undefined;
  /** Allowance for clock differences on grant times; default 30 s. */
  readonly skewMs?: number | undefined;
  readonly clock?: Clock | undefined;
  /** Least time between two JWKS fetches; default 10 s. */
  readonly jwksMinRefreshMs?: number | undefined;
  /** Where JSON log lines go; stderr by default, `false` silences them. */
  readonly logDestination?: NodeJS.WritableStream | false | undefined;
}

export interface RunningBascule {
  /** `http://host:port` or `unix:/path`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly jwks: JwksCache;
  /** Kills running commands, finishes their requests, closes the listener and the audit. */
  close(): Promise<void>;
}

/**
 * Single use: each grant jti is remembered from its first use until the grant could no
 * longer verify (its lifetime is at most 60 s from an iat at most `skew` ahead, plus the
 * skew on exp), so a replay always finds it. Full of live grants: refuse, never forget one.
 */
class GrantLedger {
  readonly #seen = new Map<string, number>();
  readonly #rememberMs: number;

  constructor(skewMs: number) {
    this.#rememberMs = MAX_GRANT_LIFETIME_SECONDS * 1000 + 2 * skewMs;
  }

  /** Records `jti`; true when it was already used. */
  use(jti: string, now: number): boolean {
    const until = this.#seen.get(jti);
    if (until !== undefined && until > now) return true;
    if (this.#seen.size >= MAX_REMEMBERED_GRANTS) this.sweep(now);
    if (this.#seen.size >= MAX_REMEMBERED_GRANTS) throw new BasculeRefusalError('bascule_busy');
    this.#seen.set(jti, now + this.#rememberMs);
    return false;
  }

  sweep(now: number): void {
    for (const [jti, until] of this.#seen) if (until <= now) this.#seen.delete(jti);
  }
}

/** What is known of a request when it ends, for its audit entry. */
interface RequestState {
  claims?: AcClaims;
  /** The jti of a grant that verified up to the single-use check. */
  jti?: string;
  argv?: readonly string[];
  /** exec_start was written: exec_end, not deny, closes this request's record. */
  started?: boolean;
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

const BEARER = /^Bearer +(\S+)$/i;

/** The kid an unverified grant names: only a hint for refreshing keys, never a decision. */
function kidHint(token: string): string | undefined {
  const header = token.split('.', 1)[0] ?? '';
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown })
      .kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

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

function checkLimits(limits: ExecLimits): ExecLimits {
  // Node timers hold at most 2^31 − 1 ms; a larger timeout would fire at once.
  if (
    !Number.isSafeInteger(limits.timeoutMs) ||
    limits.timeoutMs <= 0 ||
    limits.timeoutMs > 2 ** 31 - 1
  )
    throw new ConfigError('limits.timeoutMs', 'must be a whole number of ms, at most 24 days');
  if (!Number.isSafeInteger(limits.maxOutputBytes) || limits.maxOutputBytes < 0)
    throw new ConfigError('limits.maxOutputBytes', 'must be a whole number of bytes');
  return limits;
}

function checkCwd(cwd: string | undefined): string {
  const dir = resolve(cwd ?? DEFAULT_CWD);
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  // Checked here so that a missing directory is not later taken for a missing command.
  if (!ok) throw new ConfigError('--cwd', 'must be an existing directory');
  return dir;
}

/** Clears a socket path left by a crash; refuses a live socket or anything else. */
async function prepareSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new ConfigError('--socket', 'exists and is not a socket');
  const alive = await new Promise<boolean>((done) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
  if (alive) throw new ConfigError('--socket', 'is in use by another process');
  unlinkSync(path);
}

/** Listens on a Unix socket that is 0600 from the moment it exists. */
async function listenOnSocket(app: FastifyInstance, path: string): Promise<void> {
  await prepareSocketPath(path);
  await app.ready();
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch {
    // Worker threads cannot change the umask; the chmod below still applies.
  }
  try {
    await app.listen({ path });
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  chmodSync(path, 0o600);
}

export async function startBascule(options: BasculeOptions): Promise<RunningBascule> {
  const clock = options.clock ?? systemClock;
  const name = options.name;
  let canonical: string | undefined;
  try {
    canonical = canonicalTarget(name);
  } catch {
    canonical = undefined;
  }
  if (canonical !== name) throw new ConfigError('--name', 'must be a canonical target name');
  if ((options.listen === undefined) === (options.socket === undefined))
    throw new ConfigError('--listen/--socket', 'exactly one is required');
  if (options.socket === '') throw new ConfigError('--socket', 'must be a path');
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const audience = audienceFor(name);
  const skewMs = options.skewMs ?? 30_000;
  if (!Number.isSafeInteger(skewMs) || skewMs < 0 || skewMs > 5 * 60_000)
    throw new ConfigError('skewMs', 'must be between 0 and 5 minutes');
  const limits = checkLimits(options.limits ?? DEFAULT_EXEC_LIMITS);
  const cwd = checkCwd(options.cwd);
  const pathEnv = options.pathEnv ?? DEFAULT_PATH;

  const app: FastifyInstance = Fastify({
    // stderr, so that stdout stays free for the one "listening" line.
    logger:
      options.logDestination === false
        ? false
        : {
            level: process.env['BASTION_LOG_LEVEL'] ?? 'info',
            base: { svc: 'bascule', target: name },
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            stream: options.logDestination ?? process.stderr,
          },
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 128 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const jwks = new JwksCache({
    url: options.jwksUrl,
    clock,
    logger: app.log,
    ...(options.jwksMinRefreshMs !== undefined ? { minRefreshMs: options.jwksMinRefreshMs } : {}),
  });
  const audit = await BasculeAuditLog.open(options.auditFile, { clock });
  const ledger = new GrantLedger(skewMs);
  const stopping = new AbortController();
  const states = new WeakMap<FastifyRequest, RequestState>();
  const stateOf = (request: FastifyRequest): RequestState => {
    let state = states.get(request);
    if (state === undefined) {
      state = {};
      states.set(request, state);
    }
    return state;
  };
  const record = (request: FastifyRequest, event: BasculeAuditEvent): Promise<unknown> => {
    const { claims, jti } = stateOf(request);
    return audit.append({
      target: name,
      ...(claims !== undefined
        ? { grant_jti: claims.jti, ac_id: claims.ac, principal: claims.ctx.principal_did }
        : { grant_jti: jti }),
      ...event,
    });
  };

  /** Everything about the grant, before the body is read. */
  const authenticate = async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const grant = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (grant === undefined) throw new BasculeRefusalError('bascule_grant_missing');
    const kid = kidHint(grant);
    const keys = kid === undefined ? await jwks.keys() : await jwks.keysForKid(kid);
    const now = clock.now();
    let claims: AcClaims;
    try {
      ({ claims } = await verifyAc(grant, {
        keys,
        issuer,
        audience,
        now,
        skewMs,
        isRevoked: (jti) => {
          // Reached only by a grant that verified in every other respect: worth auditing.
          stateOf(request).jti = jti;
          return Promise.resolve(ledger.use(jti, now));
        },
      }));
    } catch (err) {
      // Here revocation is single use: the one way a grant is "revoked" is having been used.
      if (err instanceof AuthenticationError && err.code === 'ac_revoked')
        throw new BasculeRefusalError('bascule_grant_replayed');
      throw err;
    }
    stateOf(request).claims = claims;
    if (claims.exp - claims.iat > MAX_GRANT_LIFETIME_SECONDS)
      throw new BasculeRefusalError('bascule_grant_lifetime');
    if (claims.ctx.connector !== 'bascule' || claims.ctx.target !== name)
      throw new BasculeRefusalError('bascule_wrong_target');
    if (!hasCapabilities(claims.ctx.capability_mask, ['exec']))
      throw new BasculeRefusalError('bascule_capability_missing');
  };

  app.removeContentTypeParser('text/plain');
  installErrorHandling(app, { challenge: 'Bearer realm="bascule"' });

  // One place sees every reply of the exec route, whatever refused it: Fastify's parser
  // and validator included.
  app.addHook('onSend', async (request, reply, payload) => {
    // While closing, the connection ends with this reply instead of idling in keep-alive.
    if (stopping.signal.aborted) void reply.header('connection', 'close');
    if (request.routeOptions.url !== EXEC_ROUTE || reply.statusCode < 400) return payload;
    const state = stateOf(request);
    if (state.started === true) return payload;
    const code = codeOfPayload(payload);
    request.log.warn({ code, jti: state.claims?.jti ?? state.jti }, 'bascule refused');
    try {
      await record(request, {
        type: 'deny',
        outcome: code,
        ...(state.argv !== undefined ? { detail: { argv: state.argv } } : {}),
      });
    } catch (err) {
      request.log.error({ err, code }, 'bascule audit failed for a refusal');
    }
    return payload;
  });

  app.get('/healthz', () => ({ status: 'ok' }));

  app.post<{ Body: ExecBody }>(
    EXEC_ROUTE,
    { schema: { body: execBodySchema }, onRequest: async (request) => authenticate(request) },
    async (request, reply) => {
      const state = stateOf(request);
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
        await record(request, { type: 'exec_start', detail: { argv } });
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
          signal: stopping.signal,
          ...(input !== undefined ? { stdin: input } : {}),
        });
      } catch (err) {
        const code = err instanceof BastionError ? err.code : 'internal_error';
        await record(request, { type: 'exec_end', outcome: code }).catch((auditErr: unknown) =>
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
        await record(request, { type: 'exec_end', outcome: 'ok', detail });
      } catch (err) {
        // The command has run: its result is returned; the gap is loud in the log, and the
        // next request finds the audit refusing (503) if it could not recover.
        request.log.error({ err, jti: claims.jti }, 'bascule audit failed for exec_end');
      }
      request.log.info({ jti: claims.jti, ac: claims.ac, ...detail }, 'bascule exec');
      return reply.code(200).send(result);
    },
  );

  const sweep = setInterval(() => ledger.sweep(clock.now()), SWEEP_INTERVAL_MS);
  sweep.unref();

  let url: string;
  try {
    // Warm the key cache; a broker that is not up yet is retried on the first grant.
    await jwks.refresh().catch(() => undefined);
    const { socket, listen } = options;
    if (socket !== undefined) {
      await listenOnSocket(app, socket);
      url = `unix:${socket}`;
    } else if (listen !== undefined) {
      await app.listen({ host: listen.host, port: listen.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : listen.port;
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      url = `http://${host}:${port}`;
    } else {
      throw new ConfigError('--listen/--socket', 'exactly one is required');
    }
  } catch (err) {
    clearInterval(sweep);
    await app.close();
    await audit.close();
    throw err;
  }
  app.log.info({ url, audience, audit: audit.file, cwd }, 'bascule listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    app,
    jwks,
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        const closed = app.close();
        // Running commands are killed; their requests finish with what they produced.
        stopping.abort();
        await closed;
        await audit.close();
        if (options.socket !== undefined) {
          try {
            if (lstatSync(options.socket).isSocket()) unlinkSync(options.socket);
          } catch {
            // Already removed by the server.
          }
        }
      })();
      return closing;
    },
  };
}
