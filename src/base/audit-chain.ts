/**
 * The audit hash chain's one definition: canonical JSON (RFC 8785 JCS) and the entry hash. The broker's
 * store, the verifier and the Bascule runtime's own audit file all hash through here, so an
 * entry hashes the same wherever it is written or checked. Deliberately free of store (and
 * any other Bastion) dependencies.
 */
import { createHash } from 'node:crypto';

/** The `prev` of the first entry: 64 hex zeros. */
export const GENESIS = '0'.repeat(64);

/**
 * The JSON Canonicalization Scheme (JCS, RFC 8785): object keys sorted by their UTF-16 code
 * units (as Array.prototype.sort does), no whitespace, strings and numbers serialised as
 * ECMAScript's JSON.stringify does (RFC 8785 §3.2.2 defines them so; its published vectors
 * are in test/base/audit-chain.test.ts). What JCS leaves to the caller: `undefined` object
 * fields are omitted (in arrays they become null, as with JSON.stringify), a `toJSON` value
 * is used as JSON.stringify would, and a lone surrogate (outside I-JSON, which JCS assumes)
 * is escaped as `\udXXX` rather than refused, as before, so stored hashes stay valid.
 * Values that JSON cannot carry faithfully (NaN, Infinity, bigint, functions, symbols,
 * cycles) are refused rather than silently changed, since a hash over a value that does not
 * survive a round trip through storage could never be re-verified. Parsing the output and
 * canonicalising again gives the same text. A SIEM re-verifying the chain hashes the JCS
 * text of an entry without its `hash` (auditHash).
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError('canonical JSON: unsupported value');
  }
  // Dates and the like: use their JSON form, as JSON.stringify would.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value) as unknown, seen);
  if (seen.has(value)) throw new TypeError('canonical JSON: cycle');
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((item: unknown) => (item === undefined ? 'null' : write(item, seen))).join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      if (item === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(item, seen)}`);
    }
    out = `{${parts.join(',')}}`;
  }
  seen.delete(value);
  return out;
}

/**
 * SHA-256 (hex) of the canonical JSON of every field of `entry` except `hash` — so `seq`,
 * `ts` and `prev` are covered, and moving, re-dating or re-linking an entry changes it.
 * A `hash` field, if present, is ignored, so a stored entry can be passed as is.
 */
export function auditHash(entry: object): string {
  const body: Record<string, unknown> = { ...(entry as Record<string, unknown>) };
  delete body['hash'];
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
}
