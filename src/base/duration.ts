/**
 * Durations in configuration: `90s`, `15m`, `1h30m`, `2d`, or a bare integer of seconds.
 * Units come in descending order (d, h, m, s), each at most once, lowercase, with no
 * spaces, so one duration has exactly one spelling of each part. Zero, negatives,
 * fractions and anything past MAX_DURATION_SECONDS are refused: a zero or overflowing
 * lifetime in policy is always a mistake, never a wish.
 */
import { InvalidArgumentError } from './errors.js';

/** 2^31 − 1 s (about 68 years): beyond this a duration is an overflow, not a policy. */
export const MAX_DURATION_SECONDS = 2 ** 31 - 1;

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

// Each part is at most 10 digits so the arithmetic below stays far inside safe integers.
const DURATION_PATTERN = /^(?:(\d{1,10})d)?(?:(\d{1,10})h)?(?:(\d{1,10})m)?(?:(\d{1,10})s)?$/;
const BARE_SECONDS = /^\d{1,10}$/;

export type DurationResult =
  { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly reason: string };

function bounded(seconds: number): DurationResult {
  if (!Number.isSafeInteger(seconds) || seconds > MAX_DURATION_SECONDS) {
    return { ok: false, reason: 'is too long a duration' };
  }
  if (seconds <= 0) return { ok: false, reason: 'must be a duration greater than zero' };
  return { ok: true, seconds };
}

/**
 * Parses a duration without throwing. The reason is fixed text (it never quotes the input)
 * and is phrased to follow a key path, e.g. "accords[0].max_duration: must be ...".
 */
export function tryParseDuration(input: unknown): DurationResult {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || !Number.isInteger(input)) {
      return { ok: false, reason: 'must be a whole number of seconds' };
    }
    return bounded(input);
  }
  if (typeof input !== 'string') {
    return { ok: false, reason: 'must be a duration such as 90s, 15m, 1h30m or 2d' };
  }
  if (BARE_SECONDS.test(input)) return bounded(Number(input));
  const match = input === '' ? null : DURATION_PATTERN.exec(input);
  if (match === null) {
    return {
      ok: false,
      reason:
        'must be a duration such as 90s, 15m, 1h30m or 2d (units d, h, m, s in that order, lowercase, no spaces)',
    };
  }
  const [, d, h, m, s] = match;
  const seconds =
    Number(d ?? 0) * UNIT_SECONDS.d +
    Number(h ?? 0) * UNIT_SECONDS.h +
    Number(m ?? 0) * UNIT_SECONDS.m +
    Number(s ?? 0) * UNIT_SECONDS.s;
  return bounded(seconds);
}

/** Parses a duration into seconds; throws InvalidArgumentError(`what`) when it is not one. */
export function parseDuration(input: string | number, what = 'duration'): number {
  const result = tryParseDuration(input);
  if (!result.ok) throw new InvalidArgumentError(what);
  return result.seconds;
}

/** The shortest spelling `parseDuration` reads back to the same number, e.g. 5400 → `1h30m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new InvalidArgumentError('duration');
  let rest = seconds;
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) text += `${count}${unit}`;
  }
  return text;
}
