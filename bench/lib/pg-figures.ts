/**
 * The rows of the PostgreSQL phases (bench/lib/pg-bench.ts): B4 against the commit floor
 * measured in the same run, with the durable commits per invocation; B1 against one
 * Ed25519 verify + sign, as B1 on SQLite is reported.
 */
import { issuanceFigures } from './issuance-figures.js';
import type { PgB1Result, PgB4Result, PgSetting } from './pg-bench.js';
import type { Figure } from './report.js';

const plural = (n: number): string => `${n} replica${n === 1 ? '' : 's'}`;

/** One line saying what the cluster was, for the output under the table. */
export function pgSettingLine(phase: string, s: PgSetting): string {
  return `${phase}: PostgreSQL ${s.version} on 127.0.0.1, fsync=${s.fsync}, synchronous_commit=${s.synchronousCommit}, data under ${s.dataDir}`;
}

export function pgB4Figures(result: PgB4Result): Figure[] {
  return result.configs.map((c) => {
    const addedP50 = c.lifecycle.median - c.backend.median;
    const addedP99 = c.lifecycle.p99 - c.backend.p99;
    return {
      id: 'B4pg',
      name: `broker-added latency on PostgreSQL, ${plural(c.replicas)}, open loop ${c.rate}/s${c.replicas > 1 ? ' dealt round-robin' : ''}, backend 2 ms`,
      unit: 'ms',
      median: addedP50,
      p99: addedP99,
      min: c.lifecycle.min - c.backend.min,
      max: c.lifecycle.max - c.backend.max,
      rounds: c.rounds,
      samples: c.lifecycle.n,
      baseline: {
        name: `the commit floor, p99: one-row INSERT … COMMIT through the store's pool (pg, 10 connections) at ${c.rate}/s; its p50 ${c.floor.median.toFixed(2)} ms`,
        value: c.floor.p99,
        unit: 'ms',
      },
      ratio: addedP99 / c.floor.p99,
      note: `ratio = p99 added ÷ floor p99 (p50 added ÷ floor p50 = ${(addedP50 / c.floor.median).toFixed(2)}×); achieved ${Math.round(c.achieved)}/s${c.achieved < c.rate * 0.9 ? ' (saturated: queueing dominates)' : ''}; durable commits per invocation ${c.commitsPerSerialInvocation.toFixed(2)} one at a time, ${c.commitsPerInvocation.toFixed(2)} at ${c.rate}/s (group commit merges what queues); lifecycle p50 ${c.lifecycle.median.toFixed(2)} ms, p99 ${c.lifecycle.p99.toFixed(2)} ms; backend alone p50 ${c.backend.median.toFixed(2)} ms, p99 ${c.backend.p99.toFixed(2)} ms; errors ${c.errors}; ${c.placement}`,
    };
  });
}

export function pgB1Figures(result: PgB1Result): Figure[] {
  return result.configs.flatMap((c) =>
    issuanceFigures(
      c.load,
      result.verifySign,
      `AC issuance on PostgreSQL, ${plural(c.replicas)}, HTTP + DPoP`,
      `; ${c.placement}`,
      'B1pg',
    ),
  );
}
