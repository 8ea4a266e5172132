/**
 * The HTTP server: Fastify with strict JSON parsing, a body-size limit, redacted
 * structured logs, the error edge, the governance routes, /healthz and /openapi.json.
 * `startServer` wires the store, keyring and service together and owns their lifecycle.
 */
import { mkdirSync } from 'node:fs';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Clock, systemClock } from '../clock.js';
import type { BastionConfig } from '../config/config.js';
import { BrokerKeyring } from '../governance/keyring.js';
import { GovernanceService } from '../governance/service.js';
import { REDACT_PATHS } from '../log/logger.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { installErrorHandling } from './error-handler.js';
import { RateLimiter } from './rate-limit.js';
import { governanceRoutes } from './routes/governance.js';

export interface ServerOptions {
  config: BastionConfig;
  clock?: Clock;
  /** Where JSON log lines go; stderr by default. `false` silences them. */
  logDestination?: NodeJS.WritableStream | false;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly service: GovernanceService;
  readonly store: Store;
  readonly keyring: BrokerKeyring;
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
    const service = new GovernanceService({
      store,
      keyring,
      clock,
      logger: app.log,
      settings: {
        issuer: config.issuer,
        audience: config.audience,
        skewMs: config.clock_skew_seconds * 1000,
        admins: config.admins,
        accords: config.accordsById,
        approvalTtlMs: DEFAULT_APPROVAL_TTL_MS,
      },
    });
    let publicUrl = config.public_url?.replace(/\/+$/, '') ?? '';

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
    installErrorHandling(app);
    app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
    const limiter = new RateLimiter(config.limits.rate_per_minute, clock);
    governanceRoutes(app, { service, store, clock, limiter, publicUrl: () => publicUrl });

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
      close: () => {
        closing ??= (async () => {
          clearInterval(cleanup);
          await app.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await started?.close();
    await store.close();
    throw err;
  }
}
