/**
 * The results table and JSON document. Every figure states its unit, its baseline (measured
 * in the same run) and a ratio. The ratio is always a cost ratio: how many times the
 * baseline Bastion's figure costs — time over time, or the baseline's throughput over
 * Bastion's — so 1.0 means "no more than the unavoidable work" and larger is worse.
 */
import { fmt } from './stats.js';

export interface Baseline {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

export interface Figure {
  readonly id: string;
  readonly name: string;
  readonly unit: string;
  readonly median: number | null;
  readonly p99: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Rounds the figure was measured in (per-round values or pooled samples). */
  readonly rounds: number | null;
  /** Individual measurements behind median/p99 (operations, requests, invocations). */
  readonly samples: number | null;
  readonly baseline: Baseline | null;
  readonly ratio: number | null;
  /** B5 only: the ratio of the p99s. */
  readonly ratioP99?: number | null;
  readonly note?: string;
}

export interface BreakdownRow {
  readonly name: string;
  readonly what: string;
  readonly medianUs: number;
  readonly p99Us: number;
  readonly opsPerSecond: number;
}

function table(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    '| ' +
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join(' | ') +
    ' |';
  const rule =
    '|' +
    widths.map((w, i) => (right[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') +
    '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const ratioText = (f: Figure): string => {
  if (f.ratio === null || !Number.isFinite(f.ratio)) return '—';
  const main = `${fmt(f.ratio)}×`;
  return f.ratioP99 !== undefined && f.ratioP99 !== null
    ? `${main} (p99 ${fmt(f.ratioP99)}×)`
    : main;
};

/** The results as a Markdown table (also what is printed). */
export function figuresTable(figures: readonly Figure[]): string {
  return table(
    ['figure', 'unit', 'median', 'p99', 'min', 'max', 'rounds', 'baseline', 'ratio'],
    figures.map((f) => [
      `${f.id} ${f.name}`,
      f.unit,
      fmt(f.median),
      fmt(f.p99),
      fmt(f.min),
      fmt(f.max),
      f.rounds === null ? '—' : `${f.rounds}${f.samples !== null ? ` (n=${f.samples})` : ''}`,
      f.baseline === null ? '—' : `${fmt(f.baseline.value)} ${f.baseline.unit}`,
      ratioText(f),
    ]),
    [false, false, true, true, true, true, true, true, true],
  );
}

export function baselinesList(figures: readonly Figure[]): string {
  return figures
    .filter((f) => f.baseline !== null || f.note !== undefined)
    .map((f) => {
      const parts = [
        f.baseline !== null ? `baseline: ${f.baseline.name}` : undefined,
        f.note,
      ].filter((p) => p !== undefined);
      return `- ${f.id}: ${parts.join('; ')}`;
    })
    .join('\n');
}

export function breakdownTable(rows: readonly BreakdownRow[]): string {
  return table(
    ['step', 'what it is', 'median µs', 'p99 µs', 'ops/s'],
    rows.map((r) => [r.name, r.what, fmt(r.medianUs), fmt(r.p99Us), fmt(r.opsPerSecond)]),
    [false, false, true, true, true],
  );
}
