/**
 * What an operator sees of a credential backend's health: its circuit's state, when it last
 * issued and last failed (with a reason from the fixed vocabularies, never a backend's own
 * text), how many calls in a row failed, and how long calls took. Kept here, apart from the
 * breaker, so the view has one shape for the route, the server and (later) the metrics.
 */

export type CircuitStateName = 'closed' | 'open' | 'half_open';

export interface LatencyView {
  /** Milliseconds of the last call that reached the backend; null before the first. */
  readonly last: number | null;
  /** Nearest-rank percentiles over the last LATENCY_WINDOW calls. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly samples: number;
}

export interface BackendHealth {
  readonly id: string;
  readonly types: readonly string[];
  readonly state: CircuitStateName;
  /** Failures since the backend last answered (issued, or refused for reasons of its own). */
  readonly consecutive_failures: number;
  /** When it last issued a credential the resolver accepted (ISO 8601), or null. */
  readonly last_success_at: string | null;
  readonly last_failure_at: string | null;
  /** A reason from BackendReasons or RejectReasons; never the backend's text. */
  readonly last_failure_reason: string | null;
  /** The breaker's settings: failures in a row that open it, and for how long. */
  readonly failover: { readonly failures: number; readonly open_seconds: number };
  readonly latency_ms: LatencyView;
}

/** Calls the rolling percentiles look back over: small, so a recovery shows soon. */
export const LATENCY_WINDOW = 32;

/** A backend's record, updated by its circuit after each call that reached it. */
export class HealthRecord {
  consecutiveFailures = 0;
  lastSuccessAt: number | undefined;
  lastFailureAt: number | undefined;
  lastFailureReason: string | undefined;
  readonly #latencies: number[] = [];
  #next = 0;
  #last: number | undefined;

  latency(ms: number): void {
    const rounded = Math.round(ms * 10) / 10;
    this.#last = rounded;
    if (this.#latencies.length < LATENCY_WINDOW) this.#latencies.push(rounded);
    else this.#latencies[this.#next] = rounded;
    this.#next = (this.#next + 1) % LATENCY_WINDOW;
  }

  issued(at: number): void {
    this.consecutiveFailures = 0;
    this.lastSuccessAt = at;
  }

  /** The backend answered without issuing (a denial, a request it does not take): it is up. */
  answered(): void {
    this.consecutiveFailures = 0;
  }

  failed(at: number, reason: string): void {
    this.consecutiveFailures += 1;
    this.lastFailureAt = at;
    this.lastFailureReason = reason;
  }

  latencyView(): LatencyView {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      last: this.#last ?? null,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      samples: sorted.length,
    };
  }
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? null;
}

export function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
