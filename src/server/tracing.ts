/**
 * OpenTelemetry traces, off unless `tracing.otlp_endpoint` is set: a span for each HTTP
 * request and, below it, one per lifecycle step (base/telemetry.ts), exported over
 * OTLP/HTTP (JSON) in batches. The provider is the broker's own, never registered as
 * OpenTelemetry's global one, and the current span is carried in an AsyncLocalStorage of
 * its own; so two brokers in one process do not mix their traces.
 *
 * Attributes come from an allow-list only: a step names its connector, backend, outcome
 * and at most a fingerprint's prefix; a failed step its catalog code, never a message.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { errorCodeOf, type SpanFacts, type SpanStep } from '../base/telemetry.js';
import type { TracingConfig } from '../config/telemetry.js';

/** How much of a credential's fingerprint a span may carry: enough to match the audit. */
const FINGERPRINT_PREFIX = 12;
/** Configured names are short; anything longer is cut, never carried whole. */
const MAX_VALUE = 64;

const FACTS: Readonly<Record<keyof SpanFacts, string>> = {
  connector: 'bastion.connector',
  backend: 'bastion.backend',
  outcome: 'bastion.outcome',
  fingerprint_prefix: 'bastion.fingerprint_prefix',
};

/** Sets only allow-listed attributes, each bounded in length. */
function setFacts(span: Span, facts: SpanFacts): void {
  for (const [key, attribute] of Object.entries(FACTS) as [keyof SpanFacts, string][]) {
    const value = facts[key];
    if (value === undefined) continue;
    span.setAttribute(
      attribute,
      value.slice(0, key === 'fingerprint_prefix' ? FINGERPRINT_PREFIX : MAX_VALUE),
    );
  }
}

export class BrokerTracing {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #current = new AsyncLocalStorage<Context>();

  constructor(config: TracingConfig) {
    const exporter = new OTLPTraceExporter({ url: config.otlp_endpoint });
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.service_name }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    this.#tracer = this.#provider.getTracer('bastion');
  }

  /** A request's span: its method and route pattern (never the URL), a root of its own. */
  startRequest(method: string, route: string): Span {
    return this.#tracer.startSpan(
      `${method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method, 'http.route': route },
      },
      ROOT_CONTEXT,
    );
  }

  /** Ends a request's span with its status and error code (`ok` when none). */
  endRequest(span: Span, status: number, code: string): void {
    span.setAttribute('http.response.status_code', status);
    span.setAttribute('bastion.error_code', code);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  /** Runs `fn` with `span` as the current span: the steps it takes are its children. */
  within<T>(span: Span, fn: () => T): T {
    return this.#current.run(trace.setSpan(ROOT_CONTEXT, span), fn);
  }

  async span<T>(step: SpanStep, fn: (note: (facts: SpanFacts) => void) => Promise<T>): Promise<T> {
    const parent = this.#current.getStore() ?? ROOT_CONTEXT;
    const span = this.#tracer.startSpan(step, { kind: SpanKind.INTERNAL }, parent);
    let outcome = 'ok';
    try {
      return await this.#current.run(trace.setSpan(parent, span), () =>
        fn((facts) => {
          outcome = facts.outcome ?? outcome;
          setFacts(span, facts);
        }),
      );
    } catch (err) {
      outcome = errorCodeOf(err);
      span.setAttribute('bastion.error_code', outcome);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      setFacts(span, { outcome });
      span.end();
    }
  }

  /** Sends what is buffered, then stops. */
  close(): Promise<void> {
    return this.#provider.shutdown();
  }
}
