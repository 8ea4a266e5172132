/**
 * Summary statistics for the benchmark: nearest-rank percentiles over a sorted copy, so
 * that a p99 is always a value that was actually observed (no interpolation between two
 * samples that may come from different regimes, e.g. before and after a GC pause).
 */

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

/** Summary of finite samples (NaN marks a failed operation and is left out). */
export function summarize(samples: Iterable<number>): Summary {
  const values = Float64Array.from([...samples].filter(Number.isFinite)).sort();
  let sum = 0;
  for (const v of values) sum += v;
  return {
    n: values.length,
    median: percentile(values, 50),
    p99: percentile(values, 99),
    min: values.length > 0 ? (values[0] ?? NaN) : NaN,
    max: values.length > 0 ? (values[values.length - 1] ?? NaN) : NaN,
    mean: values.length > 0 ? sum / values.length : NaN,
  };
}

export function median(values: readonly number[]): number {
  return summarize(values).median;
}

/** Rounds for display: three significant digits, no exponent for ordinary magnitudes. */
export function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}
