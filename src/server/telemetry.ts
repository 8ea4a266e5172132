/**
 * The broker's telemetry: Prometheus metrics (metrics.ts) and OpenTelemetry traces
 * (tracing.ts) behind the one `Telemetry` the lower layers record through, the Fastify
 * hooks that time each request and give it a span, and the metrics endpoint: on the API's
 * listener at `metrics.path`, or on a listener of its own (`metrics.listen`).
 */
import type { Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isKnownErrorCode } from '../base/errors.js';
import { isLoopback } from '../base/loopback.js';
import { hostPort, listenFailed } from '../base/system-errors.js';
import {
  noTelemetry,
  type RateLimitScope,
  type SpanStep,
  type Telemetry,
} from '../base/telemetry.js';
import type { BastionConfig } from '../config/config.js';
import { METRICS_DEFAULTS } from '../config/telemetry.js';
import { createEdgeFastify } from '../edge/errors.js';
import type { Store } from '../store/store.js';
import { BrokerMetrics } from './metrics.js';
import { RateLimitedError } from './rate-limit.js';
import { BrokerTracing } from './tracing.js';

/** What the server's own hooks use besides `Telemetry`: spans tied to a request. */
export interface BrokerTelemetry extends Telemetry {
  /** Runs `fn` in a step span below `request`'s span. */
  requestSpan<T>(request: FastifyRequest, step: SpanStep, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn`, counting a rate-limit refusal (RateLimitedError) it throws under `scope`. */
  limited<T>(scope: RateLimitScope, fn: () => T | Promise<T>): Promise<T>;
  /** Stops the metrics listener and flushes the spans. */
  close(): Promise<void>;
}

/** Requests no route takes share one label value: their URL is the caller's text. */
const UNMATCHED = 'unmatched';

/** The error code of an error reply our edge wrote (`{"error":{"code"}}`), else `ok`. */
function replyCode(status: number, payload: unknown): string {
  if (status < 400) return 'ok';
  try {
    const text = Buffer.isBuffer(payload) ? payload.toString() : payload;
    const code: unknown =
      typeof text === 'string'
        ? (JSON.parse(text) as { error?: { code?: unknown } }).error?.code
        : undefined;
    return isKnownErrorCode(code) ? code : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Builds the broker's telemetry and installs its hooks on `app`, before any route is
 * registered (the hooks wrap each route's handler). Call `listen` once the routes are in.
 */
export async function startTelemetry(
  app: FastifyInstance,
  config: BastionConfig,
  store: Store,
): Promise<BrokerTelemetry> {
  const settings = config.metrics ?? METRICS_DEFAULTS;
  const metrics = settings.enabled
    ? new BrokerMetrics(() => store.countAcs('pending_approval'))
    : undefined;
  const tracing = config.tracing !== undefined ? new BrokerTracing(config.tracing) : undefined;
  if (metrics !== undefined) store.observeSync?.((seconds) => metrics.storeSync(seconds));
  // A request the edge refuses before any route (404, 405) skips later onRequest hooks:
  // it has no span, but onSend and onResponse still see it.
  const spans = new WeakMap<FastifyRequest, Span>();
  const codes = new WeakMap<FastifyRequest, string>();
  const routeOf = (request: FastifyRequest): string =>
    request.is404 ? UNMATCHED : (request.routeOptions.url ?? UNMATCHED);

  if (tracing !== undefined) {
    app.addHook('onRequest', (request, _reply, done) => {
      spans.set(request, tracing.startRequest(request.method, routeOf(request)));
      done();
    });
  }
  app.addHook('onSend', (request, reply, payload, done) => {
    codes.set(request, replyCode(reply.statusCode, payload));
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const code = codes.get(request) ?? replyCode(reply.statusCode, undefined);
    metrics?.request(request.method, routeOf(request), code, reply.elapsedTime / 1000);
    const span = spans.get(request);
    if (span !== undefined) tracing?.endRequest(span, reply.statusCode, code);
    done();
  });
  if (tracing !== undefined) {
    // Each handler runs with its request's span current, so its steps are children.
    app.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = function traced(this: FastifyInstance, request, reply) {
        const span = spans.get(request);
        return span === undefined
          ? handler.call(this, request, reply)
          : tracing.within(span, () => handler.call(this, request, reply));
      };
    });
  }

  const separate = metrics !== undefined ? settings.listen : undefined;
  const metricsApp = separate !== undefined ? createEdgeFastify({ challenge: '' }) : app;
  if (metrics !== undefined) {
    metricsApp.get(
      settings.path,
      { config: { auth: 'none' }, schema: { hide: true } },
      async (_request, reply) => {
        const { text, contentType } = await metrics.scrape();
        return reply.header('cache-control', 'no-store').type(contentType).send(text);
      },
    );
  }
  if (metrics !== undefined && separate === undefined && !isLoopback(config.listen.host)) {
    app.log.warn(
      { path: settings.path },
      'metrics are served unauthenticated on a non-loopback address: they reveal traffic; set metrics.listen to a loopback address (or metrics.enabled: false)',
    );
  }
  if (separate !== undefined) {
    await metricsApp.listen({ host: separate.host, port: separate.port }).catch((err: unknown) => {
      throw listenFailed(separate.host, separate.port, err);
    });
    app.log.info({ url: `http://${hostPort(separate.host, separate.port)}` }, 'metrics listener');
  }

  const base = metrics ?? noTelemetry;
  return {
    invocation: (connector, outcome) => base.invocation(connector, outcome),
    resolution: (backend, reason) => base.resolution(backend, reason),
    auditWrite: (seconds, entries) => base.auditWrite(seconds, entries),
    storeSync: (seconds) => base.storeSync(seconds),
    rateLimited: (scope) => base.rateLimited(scope),
    span: (step, fn) => (tracing !== undefined ? tracing.span(step, fn) : fn(() => undefined)),
    requestSpan: (request, step, fn) => {
      const span = spans.get(request);
      if (tracing === undefined || span === undefined) return fn();
      return tracing.within(span, () => tracing.span(step, fn));
    },
    limited: async (scope, fn) => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof RateLimitedError) base.rateLimited(scope);
        throw err;
      }
    },
    close: async () => {
      if (metricsApp !== app) await metricsApp.close();
      await tracing?.close();
    },
  };
}
