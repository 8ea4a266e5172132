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
 *
 * This file puts the server together; the parts are options.ts (checks and defaults),
 * grant.ts with ledger.ts (the grant, single use), exec-route.ts (the route and its audit),
 * listen.ts (TCP or a Unix socket) and shutdown.ts (draining).
 */
import type { FastifyInstance } from 'fastify';
import { REDACT_PATHS } from '../base/logger.js';
import { createEdgeFastify } from '../edge/errors.js';
import { BasculeAuditLog } from './audit.js';
import { registerExecRoute } from './exec-route.js';
import { GrantVerifier } from './grant.js';
import { JwksCache } from './jwks.js';
import { GrantLedger, SWEEP_INTERVAL_MS } from './ledger.js';
import { listenBascule } from './listen.js';
import { type BasculeOptions, checkOptions } from './options.js';
import { RequestRecords } from './requests.js';
import { closeConnectionsWhenStopping, shutdownOnce } from './shutdown.js';

export const BODY_LIMIT = 64 * 1024;

export interface RunningBascule {
  /** `http://host:port` or `unix:/path`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly jwks: JwksCache;
  /** Kills running commands, finishes their requests, closes the listener and the audit. */
  close(): Promise<void>;
}

export async function startBascule(options: BasculeOptions): Promise<RunningBascule> {
  const settings = checkOptions(options);
  const { clock, name, audience, cwd } = settings;

  const app: FastifyInstance = createEdgeFastify({
    challenge: 'Bearer realm="bascule"',
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
  });
  const jwks = new JwksCache({
    url: options.jwksUrl,
    clock,
    logger: app.log,
    ...(options.jwksMinRefreshMs !== undefined ? { minRefreshMs: options.jwksMinRefreshMs } : {}),
  });
  const audit = await BasculeAuditLog.open(options.auditFile, { clock });
  const ledger = new GrantLedger(settings.skewMs);
  const stopping = new AbortController();

  closeConnectionsWhenStopping(app, stopping.signal);
  registerExecRoute(app, {
    grants: new GrantVerifier({ ...settings, jwks, ledger }),
    records: new RequestRecords(audit, name),
    limits: settings.limits,
    cwd,
    pathEnv: settings.pathEnv,
    signal: stopping.signal,
  });
  app.get('/healthz', () => ({ status: 'ok' }));

  const sweep = setInterval(() => ledger.sweep(clock.now()), SWEEP_INTERVAL_MS);
  sweep.unref();

  let url: string;
  try {
    // Warm the key cache; a broker that is not up yet is retried on the first grant.
    await jwks.refresh().catch(() => undefined);
    url = await listenBascule(app, options);
  } catch (err) {
    clearInterval(sweep);
    await app.close();
    await audit.close();
    throw err;
  }
  app.log.info({ url, audience, audit: audit.file, cwd }, 'bascule listening');

  return {
    url,
    app,
    jwks,
    close: shutdownOnce({ app, audit, stopping, sweep, socket: options.socket }),
  };
}
