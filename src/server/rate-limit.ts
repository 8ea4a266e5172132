/**
 * Per-principal rate limit: a fixed one-minute window per key, in memory. Hand-written
 * because the key (the DPoP-verified principal) is only known after proof verification,
 * which @fastify/rate-limit's request-time key generator cannot see. Bounded: when the
 * table is full, expired windows are swept, and if none are, the oldest window is
 * forgotten — never a refusal of a new key, which would let a flood of keys lock out
 * legitimate principals. (Only keys an accord names reach it: see governance/authenticate.)
 * With several replicas the per-principal limit is the store's (`StoreRateLimiter`), so a
 * principal spreading requests over N replicas still gets the limit once, not N times.
 */
import type { Clock } from '../base/clock.js';
import { BastionError } from '../base/errors.js';
import { RATE_WINDOW_MS, type Store } from '../store/store.js';

const WINDOW_MS = RATE_WINDOW_MS;

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

  /** Counts one request for `key`; throws RateLimitedError (counting nothing) past the limit. */
  hit(key: string): void {
    this.check(key);
    this.note(key);
  }

  /** Counts one for `key`, without refusing (failures counted after the fact). */
  note(key: string): void {
    this.#window(key).count += 1;
  }

  /** Throws RateLimitedError when `key` has used up this window's limit; counts nothing. */
  check(key: string): void {
    const now = this.clock.now();
    const w = this.#windows.get(key);
    if (w === undefined || now - w.start >= WINDOW_MS || w.count < this.perMinute) return;
    throw new RateLimitedError(Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000)));
  }

  /** `key`'s current window, a new one when it has none or it ended. */
  #window(key: string): { start: number; count: number } {
    const now = this.clock.now();
    const w = this.#windows.get(key);
    if (w !== undefined && now - w.start < WINDOW_MS) return w;
    this.#windows.delete(key);
    if (this.#windows.size >= this.maxKeys) this.#sweep(now);
    // Still full: forget the oldest window rather than refuse a key (the Map keeps
    // insertion order, and a window is re-inserted when it starts again).
    if (this.#windows.size >= this.maxKeys) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    const fresh = { start: now, count: 0 };
    this.#windows.set(key, fresh);
    return fresh;
  }

  #sweep(now: number): void {
    for (const [key, w] of this.#windows) if (now - w.start >= WINDOW_MS) this.#windows.delete(key);
  }
}

/** What counts a principal's requests: in this process, or in the store every replica shares. */
export interface PrincipalLimiter {
  hit(key: string): void | Promise<void>;
}

/**
 * The per-principal limit in the store: fixed windows aligned on the clock (every replica
 * agrees where a minute starts, within the clock skew the broker already tolerates), each
 * hit one atomic upsert. A store that cannot answer refuses the request (fail closed).
 */
export class StoreRateLimiter implements PrincipalLimiter {
  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly store: Pick<Store, 'hitRateLimit'>,
  ) {}

  async hit(key: string): Promise<void> {
    const now = this.clock.now();
    const start = now - (now % WINDOW_MS);
    if ((await this.store.hitRateLimit(key, start, this.perMinute)) <= this.perMinute) return;
    throw new RateLimitedError(Math.max(1, Math.ceil((start + WINDOW_MS - now) / 1000)));
  }
}
