/**
 * Per-principal rate limit: a fixed one-minute window per key, in memory. Hand-written
 * because the key (the DPoP-verified principal) is only known after proof verification,
 * which @fastify/rate-limit's request-time key generator cannot see. Bounded: when the
 * table is full, expired windows are swept, and if none are, new keys are refused.
 */
import type { Clock } from '../base/clock.js';
import { BastionError } from '../base/errors.js';

const WINDOW_MS = 60_000;

export class RateLimitedError extends BastionError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('rate_limited');
    this.retryAfterSeconds = retryAfterSeconds;
  }

  override httpHeaders(): Readonly<Record<string, string>> {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
}

export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one request for `key`; throws RateLimitedError past the limit. */
  hit(key: string): void {
    const now = this.clock.now();
    let w = this.#windows.get(key);
    if (w === undefined || now - w.start >= WINDOW_MS) {
      if (w === undefined && this.#windows.size >= this.maxKeys) this.#sweep(now);
      if (w === undefined && this.#windows.size >= this.maxKeys) throw new RateLimitedError(60);
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
    }
    w.count += 1;
    if (w.count > this.perMinute) {
      throw new RateLimitedError(Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000)));
    }
  }

  #sweep(now: number): void {
    for (const [key, w] of this.#windows) if (now - w.start >= WINDOW_MS) this.#windows.delete(key);
  }
}
