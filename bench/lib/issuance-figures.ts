/**
 * B1's rows (throughput and latency per concurrency) against one Ed25519 verify + sign
 * measured in the same run: shared by B1 on SQLite and B1 on PostgreSQL replicas.
 */
import type { LoadResult } from './http-load.js';
import type { MicroTask } from './measure.js';
import type { Figure } from './report.js';
import { median } from './stats.js';

export function issuanceFigures(
  results: readonly LoadResult[],
  rawVerifySign: MicroTask | undefined,
  what: string,
  extraNote: string,
  id = 'B1',
): Figure[] {
  const figures: Figure[] = [];
  const ops = rawVerifySign === undefined ? NaN : median(rawVerifySign.opsPerRound);
  for (const r of results) {
    const name = `${what}, c=${r.concurrency}`;
    figures.push({
      id,
      name: `${name}, throughput`,
      unit: 'issued/s',
      median: r.issuedPerSecond.median,
      p99: null,
      min: r.issuedPerSecond.min,
      max: r.issuedPerSecond.max,
      rounds: r.rounds.length,
      samples: r.latencyMs.n,
      baseline:
        rawVerifySign === undefined
          ? null
          : {
              name: 'one Ed25519 verify + one Ed25519 sign, in process, 1 core (tinybench)',
              value: ops,
              unit: 'ops/s',
            },
      ratio: rawVerifySign === undefined ? null : ops / r.issuedPerSecond.median,
      note: `${r.rounds.length} rounds of ${r.seconds} s; non-2xx ${r.rounds.reduce((s, x) => s + x.non2xx, 0)}, errors ${r.rounds.reduce((s, x) => s + x.errors, 0)}${extraNote}`,
    });
    figures.push({
      id,
      name: `${name}, latency`,
      unit: 'ms',
      median: r.latencyMs.median,
      p99: r.latencyMs.p99,
      min: r.latencyMs.min,
      max: r.latencyMs.max,
      rounds: r.rounds.length,
      samples: r.latencyMs.n,
      baseline:
        rawVerifySign === undefined
          ? null
          : {
              name: 'the same verify + sign, per operation',
              value: rawVerifySign.latencyUs.median / 1000,
              unit: 'ms',
            },
      ratio:
        rawVerifySign === undefined
          ? null
          : r.latencyMs.median / (rawVerifySign.latencyUs.median / 1000),
      ...(r.concurrency > 1
        ? { note: `with ${r.concurrency} requests in flight a request also waits for the others` }
        : {}),
    });
  }
  return figures;
}
