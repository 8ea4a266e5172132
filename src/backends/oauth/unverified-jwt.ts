/**
 * Reads of a returned access token's own claims WITHOUT verifying it. The broker is not
 * the token's audience and holds no key to verify it; what is read here may only make the
 * broker more careful (an earlier expiry) or correlate audit records, never grant anything.
 */
import { compactJwsSegments } from '../../base/compact-jws.js';

/** The payload of a compact JWS, decoded without verifying anything. */
export function unsafePayload(token: string): Record<string, unknown> | undefined {
  const segments = compactJwsSegments(token, 16_384);
  if (segments === undefined) return undefined;
  // Decoded into memory of its own, zeroed after: a small Buffer.from would land in Node's
  // shared pool and keep the decoded claims there until overwritten.
  const part = segments[1];
  const bytes = Buffer.alloc(Buffer.byteLength(part, 'base64url'));
  try {
    bytes.write(part, 'base64url');
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  } finally {
    bytes.fill(0);
  }
}

/**
 * A JWT access token's own `exp` (epoch seconds), read WITHOUT verifying the token: used
 * only to shorten the window the broker trusts, never to lengthen it. Undefined for an
 * opaque or encrypted token, or a JWT without a numeric `exp`.
 */
export function unsafeJwtExpiry(token: string): number | undefined {
  const exp = unsafePayload(token)?.['exp'];
  return typeof exp === 'number' && Number.isSafeInteger(exp) && exp > 0 ? exp : undefined;
}

const TOKEN_ID = /^[A-Za-z0-9._~:+/=-]{1,128}$/;

/**
 * A JWT access token's id, unverified, for audit correlation: `jti`, or Entra's `uti`.
 * Only an id-shaped value is returned, so a hostile claim cannot smuggle text into logs.
 */
export function unsafeJwtId(token: string): string | undefined {
  const payload = unsafePayload(token);
  for (const claim of ['jti', 'uti']) {
    const value = payload?.[claim];
    if (typeof value === 'string' && TOKEN_ID.test(value)) return value;
  }
  return undefined;
}
