/**
 * The tinybench loop the pinned children share (bench/micro.ts, bench/aws.ts,
 * bench/spire.ts): tasks run
 * interleaved, one round after another, so slow drift on a shared VM affects every task
 * alike; per-op latencies are pooled across rounds.
 */
import { Bench } from 'tinybench';
import { summarize, type Summary } from './stats.js';

export interface MicroTask {
  /** Per-op latency in µs, pooled over rounds. */
  readonly latencyUs: Summary;
  /** ops/s of each round (1 / mean latency). */
  readonly opsPerRound: number[];
}

export type Task = () => unknown;

/** Runs `rounds` benches over the same tasks and pools the results. */
export async function measure(
  tasks: Record<string, Task>,
  options: { rounds: number; timeMs: number; beforeRound?: () => Promise<void> },
): Promise<Record<string, MicroTask>> {
  const samples = new Map<string, number[]>();
  const ops = new Map<string, number[]>();
  for (let round = 0; round < options.rounds; round++) {
    await options.beforeRound?.();
    const bench = new Bench({
      time: options.timeMs,
      warmupTime: Math.min(200, options.timeMs / 2),
      throws: true,
    });
    for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
    await bench.run();
    for (const task of bench.tasks) {
      const latency = task.result?.latency;
      if (latency === undefined) throw new Error(`task ${task.name} has no result`);
      // tinybench reports milliseconds; µs reads better at these magnitudes.
      const list = samples.get(task.name) ?? [];
      for (const ms of latency.samples) list.push(ms * 1000);
      samples.set(task.name, list);
      const perRound = ops.get(task.name) ?? [];
      perRound.push(1000 / latency.mean);
      ops.set(task.name, perRound);
    }
    // Drop what the round allocated before the next one starts timing.
    globalThis.gc?.();
  }
  const out: Record<string, MicroTask> = {};
  for (const [name, list] of samples) {
    out[name] = { latencyUs: summarize(list), opsPerRound: ops.get(name) ?? [] };
  }
  return out;
}
