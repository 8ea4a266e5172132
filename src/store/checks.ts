/**
 * Argument checks at the store's edge: each returns the value it was given, or throws
 * InvalidArgumentError naming what was wrong (never quoting the value).
 */
import { InvalidArgumentError } from '../base/errors.js';

// What AuditLog writes (Date#toISOString); one fixed shape, so times compare as text.
const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX_HASH = /^[0-9a-f]{64}$/;

/** A non-empty string. */
export function text(value: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(what);
  return value;
}

export function optionalText(value: string | undefined, what: string): string | null {
  return value === undefined ? null : text(value, what);
}

/** A non-negative safe integer. */
export function int(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(what);
  return value;
}

export function optionalInt(value: number | undefined, what: string): number | null {
  return value === undefined ? null : int(value, what);
}

/** A time as Date#toISOString writes it. */
export function isoTs(value: string, what: string): string {
  if (typeof value !== 'string' || !ISO_TS.test(value)) throw new InvalidArgumentError(what);
  return value;
}

/** A SHA-256 hash in lower-case hex. */
export function hexHash(value: string, what: string): string {
  if (typeof value !== 'string' || !HEX_HASH.test(value)) throw new InvalidArgumentError(what);
  return value;
}
