/**
 * Injected time. Every time rule reads `clock.now()` so tests can stand exactly on a
 * boundary; timeouts still use real timers because they bound real waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for tests and benchmarks. */
export class ManualClock implements Clock {
  #ms: number;

  constructor(start: number | Date = Date.now()) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#ms;
  }

  set(ms: number | Date): void {
    this.#ms = typeof ms === 'number' ? ms : ms.getTime();
  }

  advance(ms: number): void {
    this.#ms += ms;
  }
}
