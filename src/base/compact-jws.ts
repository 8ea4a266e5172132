/**
 * A compact JWS signed EdDSA, split and its signature checked on node:crypto. The AC and
 * DPoP proofs (governance), the audit's signed checkpoints and the unverified reading of a
 * token's claims (backends/oauth) share it, so all read a token the one same way: three
 * base64url segments, and an Ed25519 signature over the exact text received.
 */
import { type KeyObject, verify } from 'node:crypto';

const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const ED25519_SIGNATURE_BYTES = 64;

/** Header, payload and signature segments of a compact JWS no longer than `maxLength`. */
export function compactJwsSegments(
  token: string,
  maxLength: number,
): [string, string, string] | undefined {
  const parts = token.length <= maxLength ? COMPACT_JWS.exec(token) : null;
  return parts === null ? undefined : [parts[1] ?? '', parts[2] ?? '', parts[3] ?? ''];
}

/**
 * Whether `signatureB64` is an Ed25519 signature by `key` over `header.payload` as sent.
 * Its spelling is the caller's to check (isCanonicalSegment), in the caller's order.
 */
export function ed25519SignatureValid(
  headerB64: string,
  payloadB64: string,
  signatureB64: string,
  key: KeyObject,
): boolean {
  const signature = Buffer.from(signatureB64, 'base64url');
  return (
    signature.byteLength === ED25519_SIGNATURE_BYTES &&
    verify(null, Buffer.from(`${headerB64}.${payloadB64}`, 'ascii'), key, signature)
  );
}
