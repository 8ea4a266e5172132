/**
 * A circuit breaker per credential backend (cockatiel's, with its consecutive-failure
 * breaker), so that a dead backend costs no timeout per invocation: after `failures` failed
 * calls in a row the circuit opens and the resolver skips the backend without calling it;
 * once `openMs` has passed on the broker's clock, one call goes through as a probe (the
 * others keep skipping the backend meanwhile, rather than wait on it) and the circuit
 * closes if the backend answers, or opens for another period if not.
 *
 * What counts: an error, a timeout, a credential the resolver refused are failures. A
 * backend that answers without issuing (denied, a request it does not take) is up. A caller
 * who went away proves nothing: not counted, and a probe cut short leaves the circuit open.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhenResult,
  type IBackoff,
  type IBackoffFactory,
} from 'cockatiel';
import type { Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { BackendReasons, RejectReasons } from './errors.js';
import { type BackendHealth, type CircuitStateName, HealthRecord, isoOrNull } from './health.js';

export interface FailoverSettings {
  /** Failed calls in a row that open the circuit. */
  readonly failures: number;
  /** How long the circuit stays open before one probe, in ms. */
  readonly openMs: number;
}

export const DEFAULT_FAILOVER: FailoverSettings = { failures: 3, openMs: 30_000 };
export const MAX_FAILOVER_FAILURES = 100;
export const MAX_FAILOVER_OPEN_MS = 3_600_000;

/** What one call to a backend came to, as the resolver saw it. */
export type CallOutcome = { credential: unknown } | { reason: string };

/** The circuit's answer when it did not call the backend at all. */
export const SKIPPED = { reason: BackendReasons.unavailable, skipped: true } as const;
export type Skipped = typeof SKIPPED;

/** Reasons that mean the backend answered: it is up, whatever it decided. */
const ANSWERED = new Set<string>([
  BackendReasons.denied,
  BackendReasons.invalidRequest,
  BackendReasons.unsupportedTarget,
]);

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

interface Judged<O> {
  readonly outcome: O;
  /** A failure of the backend, for the breaker. */
  readonly counts: boolean;
}

/** A call that proves nothing (the caller went away): out of cockatiel, uncounted. */
class Uncounted<O> extends Error {
  constructor(readonly outcome: O) {
    super('uncounted');
  }
}

/** Throws ConfigError unless the settings are in range. */
export function checkFailover(where: string, settings: FailoverSettings): FailoverSettings {
  const { failures, openMs } = settings;
  if (!Number.isInteger(failures) || failures < 1 || failures > MAX_FAILOVER_FAILURES) {
    throw new ConfigError(`${where} failover.failures`, `must be 1 to ${MAX_FAILOVER_FAILURES}`);
  }
  if (!Number.isFinite(openMs) || openMs < 1 || openMs > MAX_FAILOVER_OPEN_MS) {
    throw new ConfigError(`${where} failover.open`, `must be 1 to ${MAX_FAILOVER_OPEN_MS} ms`);
  }
  return settings;
}

/**
 * cockatiel times the open period with Date.now(); this backoff defers to the broker's
 * clock instead (so a ManualClock governs it too): the period's length reads as -∞ once it
 * has passed on `clock`, and +∞ before.
 */
function openFor(clock: Clock, ms: number): IBackoffFactory<unknown> {
  const next = (): IBackoff<unknown> => {
    const until = clock.now() + ms;
    return {
      get duration() {
        return clock.now() >= until ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      },
      next,
    };
  };
  return { next };
}

export class BackendCircuit {
  readonly #policy: CircuitBreakerPolicy;
  readonly #record = new HealthRecord();

  constructor(
    readonly id: string,
    readonly types: readonly string[],
    readonly settings: FailoverSettings,
    private readonly clock: Clock,
    log: Logger,
  ) {
    checkFailover(`backend ${id}`, settings);
    this.#policy = circuitBreaker(
      handleWhenResult((result) => (result as Judged<unknown>).counts),
      {
        halfOpenAfter: openFor(clock, settings.openMs),
        breaker: new ConsecutiveBreaker(settings.failures),
      },
    );
    this.#policy.onStateChange((state) => {
      const fields = { backend: id, state: STATE_NAMES[state] };
      if (state === CircuitState.Open) {
        log.warn(fields, 'credential backend circuit open: skipped until a probe succeeds');
      } else if (state === CircuitState.Closed) {
        log.info(fields, 'credential backend circuit closed: the backend answers again');
      } else log.info(fields, 'credential backend circuit half-open: probing');
    });
  }

  get state(): CircuitStateName {
    return STATE_NAMES[this.#policy.state];
  }

  /**
   * Runs `call` through the breaker, or skips it (SKIPPED) while the circuit is open or
   * its one probe is in flight. `signal` is the caller's: once aborted, nothing counts.
   */
  async run<O extends CallOutcome>(
    call: () => Promise<O>,
    signal: AbortSignal | undefined,
  ): Promise<O | Skipped> {
    if (this.#policy.state === CircuitState.HalfOpen) return SKIPPED;
    try {
      const judged = await this.#policy.execute(async () => {
        const started = performance.now();
        const outcome = await call();
        return this.#judge(outcome, performance.now() - started, signal);
      });
      return judged.outcome;
    } catch (err) {
      if (err instanceof BrokenCircuitError) return SKIPPED;
      if (err instanceof Uncounted) return err.outcome as O;
      throw err;
    }
  }

  #judge<O extends CallOutcome>(outcome: O, ms: number, signal?: AbortSignal): Judged<O> {
    const now = this.clock.now();
    if ('credential' in outcome) {
      this.#record.latency(ms);
      this.#record.issued(now);
      return { outcome, counts: false };
    }
    if (outcome.reason === RejectReasons.aborted || signal?.aborted === true) {
      // A probe cut short: the circuit stays open for another period.
      if (this.#policy.state === CircuitState.HalfOpen) return { outcome, counts: true };
      throw new Uncounted(outcome);
    }
    this.#record.latency(ms);
    if (ANSWERED.has(outcome.reason)) {
      this.#record.answered();
      return { outcome, counts: false };
    }
    this.#record.failed(now, outcome.reason);
    return { outcome, counts: true };
  }

  health(): BackendHealth {
    const r = this.#record;
    return {
      id: this.id,
      types: [...this.types],
      state: this.state,
      consecutive_failures: r.consecutiveFailures,
      last_success_at: isoOrNull(r.lastSuccessAt),
      last_failure_at: isoOrNull(r.lastFailureAt),
      last_failure_reason: r.lastFailureReason ?? null,
      failover: { failures: this.settings.failures, open_seconds: this.settings.openMs / 1000 },
      latency_ms: r.latencyView(),
    };
  }
}
