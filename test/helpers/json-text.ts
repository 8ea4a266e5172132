/**
 * JSON texts that JSON.stringify would never write, for the strict-JSON tests: a member
 * name spelled entirely in `\uXXXX` escapes, and an object text with a member put in
 * front of the ones it has (so that a last-wins parser keeps the original value), by hand
 * or drawn by fast-check.
 */
import { sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';

/** `"name"` with every UTF-16 code unit escaped: the same name, other bytes. */
export function escapedName(name: string): string {
  let out = '"';
  for (let i = 0; i < name.length; i += 1) {
    out += `\\u${name.charCodeAt(i).toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** `objectText` (a JSON object's text) with `"name": value` inserted as its first member. */
export function withMemberFirst(
  objectText: string,
  name: string,
  valueText: string,
  escaped = false,
): string {
  if (!objectText.startsWith('{')) throw new TypeError('not an object text');
  const member = `${escaped ? escapedName(name) : JSON.stringify(name)}:${valueText}`;
  return objectText === '{}' ? `{${member}}` : `{${member},${objectText.slice(1)}`;
}

/**
 * `text` with the object value of top-level member `outer` replaced by `edit(that text)`;
 * for putting a duplicate one level down (e.g. in an AC's `ctx`).
 */
export function editNested(text: string, outer: string, edit: (inner: string) => string): string {
  const value = (JSON.parse(text) as Record<string, unknown>)[outer];
  const inner = JSON.stringify(value);
  const at = text.indexOf(`${JSON.stringify(outer)}:${inner}`);
  if (at < 0) throw new TypeError('member not found');
  const start = at + JSON.stringify(outer).length + 1;
  return text.slice(0, start) + edit(inner) + text.slice(start + inner.length);
}

/** A compact JWS over exactly these header and payload bytes, signed EdDSA by `key`. */
export function signRaw(header: string | Buffer, payload: string | Buffer, key: KeyObject): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** A member to repeat: which one (an index into the object's names), a value, escaped or not. */
export interface Duplicate {
  readonly pick: number;
  readonly value: string;
  readonly escaped: boolean;
}

export const duplicateArb: fc.Arbitrary<Duplicate> = fc.record({
  pick: fc.nat(),
  value: fc.json(),
  escaped: fc.boolean(),
});

/**
 * `text` (a JSON object's text) with one of the names of the object at top level, or in
 * top-level member `nested`, put first once more with the duplicate's value.
 */
export function withDuplicate(text: string, nested: string | undefined, d: Duplicate): string {
  const repeat = (object: string): string => {
    const names = Object.keys(JSON.parse(object) as object);
    return withMemberFirst(object, names[d.pick % names.length] ?? '', d.value, d.escaped);
  };
  return nested === undefined ? repeat(text) : editNested(text, nested, repeat);
}
