/**
 * The broker's Prometheus metrics (prom-client): one registry per broker, never
 * prom-client's global one, so that two brokers in one process (tests) keep their own
 * counts. Labels take only bounded values: a route pattern, a catalog code or `ok`, a
 * configured connector or backend name, a member of a fixed set (README, "Metrics and
 * traces"); nothing here is handed a DID, a target or a URL.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InvocationOutcome, RateLimitScope } from '../base/telemetry.js';

/** Latency buckets, seconds: sub-millisecond commits up to a slow backend's 10 s timeout. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Entries per audit write: group commit takes at most 256. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'code'>;
  readonly #requestSeconds: Histogram<'method' | 'route' | 'code'>;
  readonly #invocations: Counter<'connector' | 'outcome'>;
  readonly #resolutions: Counter<'backend' | 'reason'>;
  readonly #auditSeconds: Histogram;
  readonly #auditEntries: Histogram;
  readonly #syncSeconds: Histogram;
  readonly #rateLimited: Counter<'scope'>;

  /** `pendingApprovals` is asked at each scrape (one count query). */
  constructor(pendingApprovals: () => Promise<number>) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'bastion_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and error code (ok when none)',
      labelNames: ['method', 'route', 'code'],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: 'bastion_http_request_duration_seconds',
      help: 'Time from request to reply, by method, route pattern and error code',
      labelNames: ['method', 'route', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#invocations = new Counter({
      name: 'bastion_invocations_total',
      help: 'Connector invocations, by connector and outcome (ok, timed_out, denied, failed)',
      labelNames: ['connector', 'outcome'],
      registers,
    });
    this.#resolutions = new Counter({
      name: 'bastion_credential_resolutions_total',
      help: 'Answers of credential backends, by backend and reason (issued, or why not)',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.#auditSeconds = new Histogram({
      name: 'bastion_audit_write_duration_seconds',
      help: 'Durable audit writes (group commit: sink, then store), their latency',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#auditEntries = new Histogram({
      name: 'bastion_audit_batch_entries',
      help: 'Entries per durable audit write (group commit batch size)',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.#syncSeconds = new Histogram({
      name: 'bastion_store_sync_duration_seconds',
      help: 'SQLite writer batches that reached the disk (journal line, FULL commit), their latency',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'bastion_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit, by scope (principal, address)',
      labelNames: ['scope'],
      registers,
    });
    new Gauge({
      name: 'bastion_approvals_pending',
      help: 'ACs waiting for approval now',
      registers,
      async collect() {
        this.set(await pendingApprovals());
      },
    });
  }

  request(method: string, route: string, code: string, seconds: number): void {
    const labels = { method, route, code };
    this.#requests.inc(labels);
    this.#requestSeconds.observe(labels, seconds);
  }

  invocation(connector: string, outcome: InvocationOutcome): void {
    this.#invocations.inc({ connector, outcome });
  }

  resolution(backend: string, reason: string): void {
    this.#resolutions.inc({ backend, reason });
  }

  auditWrite(seconds: number, entries: number): void {
    this.#auditSeconds.observe(seconds);
    this.#auditEntries.observe(entries);
  }

  storeSync(seconds: number): void {
    this.#syncSeconds.observe(seconds);
  }

  rateLimited(scope: RateLimitScope): void {
    this.#rateLimited.inc({ scope });
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
