/**
 * The audit's latest signed checkpoint checked in the browser: its compact JWS (EdDSA,
 * typ audit-checkpoint+jwt, as src/audit/checkpoint-sign.ts makes it) verified with
 * WebCrypto Ed25519 against the broker's JWKS, and its `{seq, hash}` held against the entry
 * of that seq when the page shows it. A checkpoint is what a thief of the database alone
 * cannot forge, so the console says how far the chain is anchored by one, or that it is not.
 */
import type { Checkpoint } from './types.js';

const TYP = 'audit-checkpoint+jwt';

export interface CheckpointCheck {
  readonly seq: number;
  readonly kid: string;
  readonly verified: boolean;
}

interface Jwk {
  kty: string;
  crv?: string;
  x?: string;
  kid?: string;
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function jsonOf(segment: string): Record<string, unknown> {
  const value: unknown = JSON.parse(new TextDecoder().decode(fromBase64url(segment)));
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

async function signatureHolds(jws: string, keys: readonly Jwk[]): Promise<string | undefined> {
  const [head, body, signature] = jws.split('.');
  if (head === undefined || body === undefined || signature === undefined) return undefined;
  const header = jsonOf(head);
  const kid = header['kid'];
  if (header['alg'] !== 'EdDSA' || header['typ'] !== TYP || typeof kid !== 'string')
    return undefined;
  const jwk = keys.find((k) => k.kid === kid && k.kty === 'OKP' && k.crv === 'Ed25519');
  if (jwk?.x === undefined) return undefined;
  const key = await crypto.subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
    { name: 'Ed25519' },
    false,
    ['verify'],
  );
  const signed = new TextEncoder().encode(`${head}.${body}`);
  const ok = await crypto.subtle.verify('Ed25519', key, fromBase64url(signature), signed);
  return ok ? kid : undefined;
}

/**
 * Checks `checkpoint` against `keys`; `hashAt` gives the hash of a verified entry the page
 * shows (undefined when it shows none of that seq). Any failure reads as not verified.
 */
export async function checkCheckpoint(
  checkpoint: Checkpoint,
  keys: readonly Jwk[],
  hashAt: (seq: number) => string | undefined,
): Promise<CheckpointCheck> {
  const unverified = { seq: checkpoint.seq, kid: '', verified: false };
  try {
    const kid = await signatureHolds(checkpoint.jws, keys);
    if (kid === undefined) return unverified;
    const claims = jsonOf(checkpoint.jws.split('.')[1] ?? '');
    const shown = hashAt(checkpoint.seq);
    const matches =
      claims['seq'] === checkpoint.seq &&
      claims['hash'] === checkpoint.hash &&
      (shown === undefined || shown === checkpoint.hash);
    return { seq: checkpoint.seq, kid, verified: matches };
  } catch {
    return unverified;
  }
}
