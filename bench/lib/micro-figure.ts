/**
 * A figure of one timed task against a baseline task of the same run (both from the
 * pinned micro child or a peer's own child): latency percentiles, ops/s and their ratio.
 */
import type { MicroTask } from './measure.js';
import type { Figure } from './report.js';
import { median } from './stats.js';

export const opsOf = (t: MicroTask | undefined): number =>
  t === undefined ? NaN : median(t.opsPerRound);

export function microTaskFigure(
  id: string,
  name: string,
  t: MicroTask,
  b: MicroTask,
  baselineName: string,
  note?: string,
): Figure {
  return {
    id,
    name,
    unit: 'µs',
    median: t.latencyUs.median,
    p99: t.latencyUs.p99,
    min: t.latencyUs.min,
    max: t.latencyUs.max,
    rounds: t.opsPerRound.length,
    samples: t.latencyUs.n,
    baseline: {
      name: `${baselineName} (${Math.round(opsOf(b))} ops/s)`,
      value: b.latencyUs.median,
      unit: 'µs',
    },
    ratio: t.latencyUs.median / b.latencyUs.median,
    note: `${Math.round(opsOf(t))} ops/s on 1 core${note === undefined ? '' : `; ${note}`}`,
  };
}
