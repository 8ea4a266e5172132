/**
 * The schedulers B4 runs its load with (bench/lifecycle.ts, bench/pg-lifecycle.ts).
 *
 * Open loop: invocation i is due at start + i/rate whatever happened to the ones before
 * it, and its latency is measured from when it was due, so a broker that falls behind is
 * charged for the queue it builds (no coordinated omission). With replicas, one schedule is
 * dealt out round-robin: replica k of R fires the i with i mod R = k, each at its own due
 * time, from a start all replicas share.
 */

export interface OpenLoop {
  /** Latency of each fired invocation from when it was due, ms; NaN for a failed one. */
  latencies: Float64Array;
  errors: number;
  elapsedMs: number;
}

export interface Share {
  /** This process's replica index and the number of replicas the schedule is dealt to. */
  readonly index: number;
  readonly of: number;
  /** The shared start, as an epoch in ms (performance.timeOrigin + performance.now()). */
  readonly startEpochMs: number;
}

/**
 * Fires `fire(i)` for i < n at `rate` per second (only this replica's share of them), each
 * on schedule, and times each from when it was due.
 */
export function openLoop(
  rate: number,
  n: number,
  fire: (i: number) => Promise<unknown>,
  share: Share = { index: 0, of: 1, startEpochMs: performance.timeOrigin + performance.now() },
): Promise<OpenLoop> {
  const mine = Array.from({ length: n }, (_, i) => i).filter((i) => i % share.of === share.index);
  const latencies = new Float64Array(mine.length);
  const interval = 1000 / rate;
  let next = 0;
  let done = 0;
  let errors = 0;
  const start = share.startEpochMs - performance.timeOrigin + 2;
  const dueOf = (k: number): number => start + (mine[k] ?? 0) * interval;
  return new Promise((resolve) => {
    if (mine.length === 0) resolve({ latencies, errors, elapsedMs: 0 });
    const finish = (): void => {
      if (++done === mine.length) {
        resolve({ latencies, errors, elapsedMs: performance.now() - start });
      }
    };
    const tick = (): void => {
      const now = performance.now();
      while (next < mine.length && dueOf(next) <= now) {
        const k = next++;
        const due = dueOf(k);
        fire(mine[k] ?? 0).then(
          () => {
            latencies[k] = performance.now() - due;
            finish();
          },
          () => {
            latencies[k] = NaN;
            errors++;
            finish();
          },
        );
      }
      if (next < mine.length) setTimeout(tick, Math.max(0, dueOf(next) - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
}

/** Runs `fire` with `concurrency` in flight until `n` have completed; the number that failed. */
export async function closedLoop(
  n: number,
  concurrency: number,
  fire: () => Promise<unknown>,
): Promise<number> {
  let started = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++;
      await fire().catch(() => errors++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return errors;
}
