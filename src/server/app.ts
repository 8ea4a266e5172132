/**
 * `startServer`: wires the store, keyring, audit log, the configured backends (in the
 * configuration's order) and connectors (every registered kind), the governance service and
 * the routes, and owns their lifecycle. Backends and connectors are built in one loop over
 * the configuration's plugin entries: nothing here names a kind.
 */
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../audit/log.js';
import { type Clock, systemClock } from '../base/clock.js';
import { prepareDataDir } from '../base/data-dir.js';
import { silentLogger } from '../base/logger.js';
import { isLoopback } from '../base/loopback.js';
import { hostPort, listenFailed } from '../base/system-errors.js';
import type { DevBackend } from '../backends/dev/dev-backend.js';
import type { BastionConfig } from '../config/config.js';
import type { Connector } from '../connectors/connector.js';
import { SessionConnector } from '../connectors/session.js';
import type { CredentialBackend } from '../credentials/backend.js';
import type { BackendHealth } from '../credentials/health.js';
import { CredentialResolver } from '../credentials/resolver.js';
import { Authenticator } from '../governance/authenticate.js';
import type { BrokerKeyring } from '../governance/keyring.js';
import { Policy } from '../governance/policy.js';
import { GovernanceService } from '../governance/service.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { installAuthentication } from './authenticate.js';
import { createFastify, metaRoutes } from './fastify.js';
import {
  buildConnectors,
  type Closable,
  closeAll,
  failoverSettings,
  registerBackends,
} from './plugins.js';
import { RefusalCounter, type RefusalKind } from './refusals.js';
import { applyReload, type ReloadResult } from './reload.js';
import { RateLimiter } from './rate-limit.js';
import { openKeyring, principalLimiter } from './shared-state.js';
import { holdLease, replicaIdOf } from './replica.js';
import { sweepReplicas } from './replica-sweep.js';
import { auditRoutes } from './routes/audit.js';
import { startForwarders } from './audit-forward.js';
import type { SiemForwarder } from '../audit/siem/forwarder.js';
import { connectorRoutes } from './routes/connectors.js';
import { consoleRoutes } from './routes/console.js';
import { governanceRoutes } from './routes/governance.js';
import { listingRoutes } from './routes/listing.js';
import { pendingNotifier } from './notify.js';
import type { ConnectFunction } from '../transports/http/destination.js';
import { healthRoutes } from './routes/health.js';
import { startTelemetry } from './telemetry.js';
import { probeRoutes } from './routes/probes.js';
import { readTls, reloadTls } from './tls.js';

export interface ServerOptions {
  config: BastionConfig;
  clock?: Clock;
  /** Where JSON log lines go; stderr by default. `false` silences them. */
  logDestination?: NodeJS.WritableStream | false;
  /** Extra backends, tried before the configured ones (tests, deployments). */
  backends?: CredentialBackend[];
  /** Extra connectors, served beside the registered kinds; a name must not be taken. */
  connectors?: Connector[];
  /** Where backends read secrets named by `*_env` settings; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** How the approval webhook connects (tests: loopback only); net.connect by default. */
  notifyConnect?: ConnectFunction;
  /** How the SIEM forwarders (`audit.forward`) connect (tests: loopback only); net.connect by default. */
  forwardConnect?: (host: string, port: number) => Socket;
}

export interface RunningServer {
  readonly config: BastionConfig;
  readonly app: FastifyInstance;
  readonly url: string;
  readonly service: GovernanceService;
  readonly store: Store;
  readonly keyring: BrokerKeyring;
  readonly audit: AuditLog;
  /** The SIEM forwarders of `audit.forward`, in its order (their stats). */
  readonly forwarders: readonly SiemForwarder[];
  readonly resolver: CredentialResolver;
  /** The dev backend, when the configuration lists one; its CA public key is also in `<data_dir>/dev-ca.pub`. */
  readonly dev: DevBackend | undefined;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Each credential backend's health and circuit state, in resolution order. */
  backendHealth(): BackendHealth[];
  /** True when it serves plain HTTP on an address other machines can reach. */
  readonly plainHttpExposed: boolean;
  /**
   * Re-reads `tls.cert_file` and `tls.key_file` for new connections (SIGHUP); false without
   * TLS. Throws (a ConfigError naming the file), keeping the current pair, when they fail.
   */
  reloadTls(): boolean;
  /** Unauthenticated requests refused since start, by kind (never one audit row each). */
  readonly refusals: Readonly<Record<RefusalKind, number>>;
  /**
   * Puts a reloaded configuration's accords and admins in force for every decision from now
   * on, live ACs included; other sections need a restart (the reply names the ones changed).
   */
  reload(next: BastionConfig): ReloadResult;
  close(): Promise<void>;
}

const CLEANUP_INTERVAL_MS = 60_000;
const DEFAULT_APPROVAL_TTL_MS = 24 * 60 * 60_000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  prepareDataDir(config.data_dir);
  const store = await openStore(config.store, config.data_dir);
  let started: FastifyInstance | undefined;
  let audit: AuditLog | undefined;
  const owned: Closable[] = [];
  try {
    const keyring = await openKeyring(config, store, {
      env: options.env ?? process.env,
      now: clock.now(),
      owned,
    });
    const skewMs = config.clock_skew_seconds * 1000;
    let publicUrl = config.public_url?.replace(/\/+$/, '') ?? '';
    const limiter = principalLimiter(config, store, clock);
    const addressLimiter = new RateLimiter(config.limits.auth_failures_per_minute, clock);
    const policy = new Policy(config.accordsById, config.admins);
    const tls = config.tls !== undefined ? readTls(config.tls) : undefined;
    const app = await createFastify(config, {
      logDestination: options.logDestination,
      https: tls,
    }).finally(() => tls?.dispose()); // the server has built its TLS context from the key
    started = app;
    const telemetry = await startTelemetry(app, config, store);
    owned.push(telemetry);
    const refusals = new RefusalCounter(app.log);
    owned.push({ close: () => Promise.resolve(refusals.close()) });
    for (const warning of config.warnings) app.log.warn({ config: config.file }, warning);
    // A rotation on any replica reaches this one (database keys; files follow SIGHUP).
    const unfollow = await keyring.follow((err: unknown) =>
      app.log.error({ err }, 'signing key reload failed; keeping the current keys'),
    );
    owned.push({ close: unfollow });
    // One replica of several on a shared store: a lease, and its id on each invoke_start.
    const replicaId = store.renewLease !== undefined ? replicaIdOf(config.data_dir) : undefined;
    const lease =
      replicaId === undefined ? undefined : await holdLease(store, replicaId, clock, app.log);
    if (lease !== undefined) owned.push(lease);
    const forwarding = startForwarders(config.audit_forward, app.log, options.forwardConnect);
    owned.push(forwarding); // closed after the log's last checkpoint, which it forwards
    audit = await AuditLog.open({
      onRecords: forwarding.onRecords,
      store,
      dataDir: config.data_dir,
      signer: () => keyring.signer,
      clock,
      logger: app.log,
      witnessFile: config.audit_witness_file,
      replicaId,
      telemetry,
    });
    const interrupted = await audit.markInterrupted();
    if (interrupted > 0) {
      app.log.warn(
        { interrupted },
        'invocations interrupted by the last shutdown are marked in the audit',
      );
    }
    // Every live replica marks what replicas gone since then left unfinished.
    if (lease !== undefined) owned.push(sweepReplicas(audit, app.log));
    const auditLog = audit;
    const service = new GovernanceService({
      store,
      keyring,
      clock,
      logger: app.log,
      audit: auditLog,
      ...(config.notifications !== undefined
        ? {
            onPending: pendingNotifier({
              settings: config.notifications,
              log: app.log,
              connect: options.notifyConnect,
            }),
          }
        : {}),
      settings: {
        issuer: config.issuer,
        audience: config.audience,
        skewMs,
        policy,
        approvalTtlMs: DEFAULT_APPROVAL_TTL_MS,
      },
    });

    // A revocation on any replica drops the AC from this one's cache (store.ts).
    owned.push({ close: await service.followRevocations() });

    // Credential backends: any given, then the configured ones in the file's order.
    const resolver = new CredentialResolver({
      clock,
      logger: app.log,
      skewMs,
      failover: failoverSettings(config.failover),
      telemetry,
    });
    const dev = await registerBackends(resolver, config, {
      signer: () => keyring.signer,
      clock,
      logger: app.log,
      env: options.env ?? process.env,
      extra: options.backends ?? [],
      owned,
    });
    const connectors = buildConnectors(config, {
      clock,
      logger: app.log,
      extra: options.connectors ?? [],
      owned,
    });

    const session = new SessionConnector({
      resolver,
      audit: auditLog,
      accords: () => policy.accords,
      limits: {
        maxOutputBytes: config.limits.output_bytes,
        timeoutMs: config.limits.exec_timeout_seconds * 1000,
      },
      clock,
      logger: app.log,
      telemetry,
    });
    // Authentication before any route, so that every route must say how it is authenticated.
    installAuthentication(app, {
      authenticator: new Authenticator({
        clock,
        skewMs,
        rememberProof: (jkt, jti, expiresAt) => store.rememberProof(jkt, jti, expiresAt),
        rateLimit: (did) => telemetry.limited('principal', () => limiter.hit(did)),
        verifyAc: (token) => telemetry.span('verify_ac', () => service.verify(token)),
        knowsKey: (jkt) => policy.knowsKey(jkt),
      }),
      publicUrl: () => publicUrl,
      addressLimiter,
      refusals,
      telemetry,
    });
    metaRoutes(app, () => publicUrl);
    consoleRoutes(app);
    governanceRoutes(app, { service });
    listingRoutes(app, { service });
    connectorRoutes(app, { session, connectors: [...connectors.values()] });
    const isAdmin = (did: string): boolean => policy.admins.includes(did);
    auditRoutes(app, {
      list: (filter) => auditLog.list(filter),
      isAdmin,
      latestCheckpoint: () => store.latestCheckpoint(),
    });
    healthRoutes(app, { backends: () => resolver.health(), isAdmin });
    probeRoutes(app, {
      storeRead: () => store.auditHead(),
      signingKey: () => keyring.activeKid !== '',
      backends: () => resolver.health(),
    });

    await app
      .listen({ host: config.listen.host, port: config.listen.port })
      .catch((err: unknown) => {
        throw listenFailed(config.listen.host, config.listen.port, err);
      });
    const address = app.server.address();
    const port =
      typeof address === 'object' && address !== null ? address.port : config.listen.port;
    const url = `${tls !== undefined ? 'https' : 'http'}://${hostPort(config.listen.host, port)}`;
    if (publicUrl === '') publicUrl = url;
    const plainHttpExposed = tls === undefined && !isLoopback(config.listen.host);
    if (plainHttpExposed) {
      app.log.warn(
        { url },
        'serving plain HTTP on a non-loopback address: ACs and DPoP proofs cross the network in clear text; configure tls or listen on 127.0.0.1 behind a TLS proxy',
      );
    }

    const cleanup = setInterval(() => {
      store
        .cleanup(clock.now())
        .catch((err: unknown) => app.log.warn({ err }, 'store cleanup failed'));
    }, CLEANUP_INTERVAL_MS);
    cleanup.unref();

    let closing: Promise<void> | undefined;
    return {
      config,
      app,
      url,
      service,
      store,
      keyring,
      audit: auditLog,
      forwarders: forwarding.forwarders,
      resolver,
      dev,
      connectors,
      backendHealth: () => resolver.health(),
      refusals: refusals.totals,
      plainHttpExposed,
      reloadTls: () => {
        if (config.tls === undefined) return false;
        reloadTls(app.server as unknown as HttpsServer, config.tls);
        return true;
      },
      reload: (next) => applyReload(app.log, config, next, policy),
      close: () => {
        closing ??= (async () => {
          clearInterval(cleanup);
          await app.close();
          // A last signed checkpoint, so truncation after shutdown is caught.
          await auditLog.close();
          await closeAll(owned, app.log);
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await started?.close();
    await audit?.close().catch(() => undefined);
    await closeAll(owned, started?.log ?? silentLogger);
    await store.close();
    throw err;
  }
}
