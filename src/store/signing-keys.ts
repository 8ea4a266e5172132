/**
 * Checks and row shapes for what the stores share beyond ACs and the audit: signing keys,
 * rate-limit windows and notifications. One module for SQLite and PostgreSQL, as
 * secret-guard.ts is.
 *
 * A wrapped signing key is the one key-shaped value a store accepts, and why that keeps
 * the "no secret ever" rule: it is AES-256-GCM ciphertext under a key-encryption key the
 * database never holds (governance/key-wrap.ts), useless to whoever steals the database.
 * The check below refuses anything that is not that format, and a plaintext PKCS#8 key in
 * it, so a bug cannot store the key itself under the wrapped key's name.
 */
import { InvalidArgumentError } from '../base/errors.js';
import { int, text } from './checks.js';
import { isSecretShaped } from './secret-guard.js';
import type { StoredSigningKey } from './store.js';

/** The prefix of a wrapped key: format 1, base64url of nonce ‖ ciphertext ‖ tag after it. */
export const WRAPPED_PREFIX = 'bwk1.';

const B64URL_43 = /^[A-Za-z0-9_-]{43}$/; // 32 bytes: a SHA-256 thumbprint, an Ed25519 key
const WRAPPED = /^bwk1\.[A-Za-z0-9_-]{38,5462}$/; // 28 bytes (nonce + tag) to 4 KiB
// The DER header of an Ed25519 PKCS#8 private key: never stored, under any name.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const MAX_PAYLOAD = 1000;
const MAX_RATE_KEY = 512;

/** A signing key as a row: absent fields are NULL. */
export interface SigningKeyRow {
  kid: string;
  x: string;
  created_at: number;
  retired_at: number | null;
  version: number;
  wrapped: string | null;
  seal: string;
}

function wrappedText(value: string, what = 'wrapped signing key'): string {
  if (typeof value !== 'string' || !WRAPPED.test(value) || isSecretShaped(value)) {
    throw new InvalidArgumentError(what);
  }
  if (Buffer.from(value.slice(WRAPPED_PREFIX.length), 'base64url').includes(PKCS8_ED25519)) {
    throw new InvalidArgumentError(what);
  }
  return value;
}

function b64url43(value: string, what: string): string {
  if (typeof value !== 'string' || !B64URL_43.test(value)) throw new InvalidArgumentError(what);
  return value;
}

/** The row for a new active key: checked, never retired, with its wrapped private key. */
export function newKeyRow(key: StoredSigningKey): SigningKeyRow {
  if (typeof key !== 'object' || key === null || key.retired_at !== undefined) {
    throw new InvalidArgumentError('signing key');
  }
  return {
    kid: b64url43(key.kid, 'kid'),
    x: b64url43(key.x, 'public key'),
    created_at: int(key.created_at, 'key creation time'),
    retired_at: null,
    version: int(key.version, 'key version'),
    wrapped: wrappedText(key.wrapped ?? ''),
    seal: wrappedText(key.seal, 'signing key seal'),
  };
}

export function keyFromRow(row: SigningKeyRow): StoredSigningKey {
  return {
    kid: row.kid,
    x: row.x,
    created_at: row.created_at,
    ...(row.retired_at === null ? {} : { retired_at: row.retired_at }),
    version: row.version,
    ...(row.wrapped === null ? {} : { wrapped: row.wrapped }),
    seal: row.seal,
  };
}

/** The kid a rotation retires, or null for the first key. */
export function retiringKid(kid: string | undefined): string | null {
  return kid === undefined ? null : b64url43(kid, 'kid');
}

/** A notification channel: a plain lower-case identifier (PostgreSQL quotes nothing else). */
export function channelName(channel: string): string {
  if (typeof channel !== 'string' || !CHANNEL.test(channel)) {
    throw new InvalidArgumentError('notification channel');
  }
  return channel;
}

/** A notification payload: short text, never shaped like a secret. */
export function payloadText(payload: string): string {
  if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD || isSecretShaped(payload)) {
    throw new InvalidArgumentError('notification payload');
  }
  return payload;
}

/** The arguments of `hitRateLimit`, checked. */
export function rateArgs(
  key: string,
  windowStart: number,
  limit: number,
): { key: string; windowStart: number; limit: number } {
  if (typeof key === 'string' && key.length > MAX_RATE_KEY) {
    throw new InvalidArgumentError('rate limit key');
  }
  const checkedLimit = int(limit, 'rate limit');
  if (checkedLimit === 0) throw new InvalidArgumentError('rate limit');
  return {
    key: text(key, 'rate limit key'),
    windowStart: int(windowStart, 'rate window start'),
    limit: checkedLimit,
  };
}
