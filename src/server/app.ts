/**
 * The HTTP server: Fastify with strict JSON parsing, a body-size limit, redacted
 * structured logs, the error edge, and the routes. `startServer` wires the store, keyring,
 * audit log, credential resolver and connectors together and owns their lifecycle.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { AuditLog } from '../audit/log.js';
import { BasculeBackend } from '../backends/bascule/bascule-backend.js';
import { DevBackend } from '../backends/dev/dev-backend.js';
import { backendsFromConfig } from '../backends/from-config.js';
import { type Clock, systemClock } from '../base/clock.js';
import type { BastionConfig } from '../config/config.js';
import { BasculeConnector } from '../connectors/bascule-connector.js';
import { HttpConnector } from '../connectors/http-connector.js';
import type { Connector } from '../connectors/connector.js';
import { SessionConnector } from '../connectors/session.js';
import { knownHostsLoader } from '../connectors/known-hosts-file.js';
import { SshConnector } from '../connectors/ssh-connector.js';
import type { CredentialBackend } from '../credentials/backend.js';
import { CredentialResolver } from '../credentials/resolver.js';
import { BrokerKeyring } from '../governance/keyring.js';
import { GovernanceService } from '../governance/service.js';
import { REDACT_PATHS } from '../base/logger.js';
import { installErrorHandling } from '../edge/errors.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { makeAuthenticator } from './authenticate.js';
import { RateLimiter } from './rate-limit.js';
import { auditRoutes } from './routes/audit.js';
import { connectorRoutes } from './routes/connectors.js';
import { governanceRoutes } from './routes/governance.js';

export interface ServerOptions {
  config: BastionConfig;
  clock?: Clock;
  /** Where JSON log lines go; stderr by default. `false` silences them. */
  logDestination?: NodeJS.WritableStream | false;
  /** Extra backends, tried before the embedded dev backend (tests, deployments). */
  backends?: CredentialBackend[];
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly service: GovernanceService;
  readonly store: Store;
  readonly keyring: BrokerKeyring;
  readonly audit: AuditLog;
  readonly resolver: CredentialResolver;
  /** The embedded dev backend; its CA public key is also in `<data_dir>/dev-ca.pub`. */
  readonly dev: DevBackend;
  close(): Promise<void>;
}

const CLEANUP_INTERVAL_MS = 60_000;
const DEFAULT_APPROVAL_TTL_MS = 24 * 60 * 60_000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const store = SqliteStore.open({ dataDir: config.data_dir });
  let started: FastifyInstance | undefined;
  let audit: AuditLog | undefined;
  try {
    const keyring = await BrokerKeyring.open(config.data_dir, clock.now());
    const app: FastifyInstance = Fastify({
      // stderr, so that stdout stays free for command output.
      logger:
        options.logDestination === false
          ? false
          : {
              level: config.log_level ?? process.env['BASTION_LOG_LEVEL'] ?? 'info',
              redact: { paths: REDACT_PATHS, censor: '[redacted]' },
              stream: options.logDestination ?? process.stderr,
            },
      bodyLimit: config.limits.body_bytes,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 128 },
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
      onProtoPoisoning: 'error',
      onConstructorPoisoning: 'error',
    });
    started = app;
    const skewMs = config.clock_skew_seconds * 1000;
    audit = await AuditLog.open({
      store,
      dataDir: config.data_dir,
      signer: () => keyring.signer,
      clock,
      logger: app.log,
    });
    const interrupted = await audit.markInterrupted();
    if (interrupted > 0) {
      app.log.warn(
        { interrupted },
        'invocations interrupted by the last shutdown are marked in the audit',
      );
    }
    const auditLog = audit;

    const service = new GovernanceService({
      store,
      keyring,
      clock,
      logger: app.log,
      audit: auditLog,
      settings: {
        issuer: config.issuer,
        audience: config.audience,
        skewMs,
        admins: config.admins,
        accords: config.accordsById,
        approvalTtlMs: DEFAULT_APPROVAL_TTL_MS,
      },
    });

    // Credential backends: any given, then the embedded ones.
    const resolver = new CredentialResolver({ clock, logger: app.log, skewMs });
    for (const backend of options.backends ?? []) resolver.register(backend);
    const configured = backendsFromConfig(config.backends, {
      signer: () => keyring.signer,
      issuer: config.issuer,
      clock,
      logger: app.log,
    });
    for (const backend of configured) resolver.register(backend);
    const marker = process.env['BASTION_DEV_CREDENTIAL_MARKER'];
    const dev = await DevBackend.create({ clock, ...(marker ? { marker } : {}) });
    if (config.backends.dev) resolver.register(dev);
    resolver.register(
      new BasculeBackend({ signer: () => keyring.signer, issuer: config.issuer, clock }),
    );
    // Public: what sshd's TrustedUserCAKeys needs to trust the dev backend (a new CA each start).
    writeFileSync(join(config.data_dir, 'dev-ca.pub'), dev.caPublicKey() + '\n', { mode: 0o644 });
    // Likewise what a resource server needs to accept the dev backend's OAuth tokens.
    writeFileSync(join(config.data_dir, 'dev-jwks.json'), JSON.stringify(dev.jwks()) + '\n', {
      mode: 0o644,
    });

    const connectors = new Map<string, Connector>([
      [
        'ssh',
        new SshConnector({
          knownHosts: knownHostsLoader(config.connectors.ssh.known_hosts),
          port: config.connectors.ssh.port,
          hosts: config.connectors.ssh.hosts,
        }),
      ],
      ['bascule', new BasculeConnector({ targets: config.connectors.bascule.targets })],
      ['http', new HttpConnector({})],
    ]);

    let publicUrl = config.public_url?.replace(/\/+$/, '') ?? '';
    const limiter = new RateLimiter(config.limits.rate_per_minute, clock);
    const authenticate = makeAuthenticator({
      store,
      clock,
      skewMs,
      limiter,
      publicUrl: () => publicUrl,
    });
    const session = new SessionConnector({
      verifyAc: (token) => service.verify(token),
      rememberProof: (jkt, jti, expiresAt) => store.rememberProof(jkt, jti, expiresAt),
      rateLimit: (did) => limiter.hit(did),
      resolver,
      audit: auditLog,
      connectors,
      limits: {
        maxOutputBytes: config.limits.output_bytes,
        timeoutMs: config.limits.exec_timeout_seconds * 1000,
      },
      clock,
      skewMs,
      logger: app.log,
    });

    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Bastion',
          version: '0.1.0',
          description:
            'Zero-credential-storage access broker: authorization contexts and governed invocations.',
        },
      },
    });
    // JSON only: a text/plain body would otherwise reach validation as a string.
    app.removeContentTypeParser('text/plain');
    installErrorHandling(app, { challenge: 'DPoP algs="EdDSA"' });
    app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
    governanceRoutes(app, { service, authenticate });
    connectorRoutes(app, { session, publicUrl: () => publicUrl });
    auditRoutes(app, {
      authenticate,
      list: (filter) => auditLog.list(filter),
      admins: config.admins,
    });

    await app.listen({ host: config.listen.host, port: config.listen.port });
    const address = app.server.address();
    const port =
      typeof address === 'object' && address !== null ? address.port : config.listen.port;
    const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
    const url = `http://${host}:${port}`;
    if (publicUrl === '') publicUrl = url;

    const cleanup = setInterval(() => {
      store
        .cleanup(clock.now())
        .catch((err: unknown) => app.log.warn({ err }, 'store cleanup failed'));
    }, CLEANUP_INTERVAL_MS);
    cleanup.unref();

    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      service,
      store,
      keyring,
      audit: auditLog,
      resolver,
      dev,
      close: () => {
        closing ??= (async () => {
          clearInterval(cleanup);
          await app.close();
          // A last signed checkpoint, so truncation after shutdown is caught.
          await auditLog.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await started?.close();
    await audit?.close().catch(() => undefined);
    await store.close();
    throw err;
  }
}
