/**
 * Leak assertions. `expectNoMarker` first proves, on a planted control, that it would find
 * the marker in each encoding it looks for, then asserts the haystack holds none of them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

export function newMarker(): string {
  return 'MARKER' + randomBytes(12).toString('hex');
}

function encodings(marker: string): string[] {
  const bytes = Buffer.from(marker);
  return [marker, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
}

function found(haystack: string, marker: string): string[] {
  return encodings(marker).filter((needle) => haystack.includes(needle));
}

export function expectNoMarker(haystack: string, marker: string, where: string): void {
  const control = `control ${encodings(marker).join(' ')} control`;
  assert.equal(found(control, marker).length, encodings(marker).length, 'leak detector is blind');
  assert.deepEqual(found(haystack, marker), [], `marker leaked into ${where}`);
}
