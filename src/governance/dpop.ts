/**
 * DPoP (RFC 9449) proofs: how a principal proves, per request, that it holds the key an AC
 * is bound to (and, at authorize, which principal it is). The checks run in a fixed order:
 * presence → structure (every segment spelt the one canonical way; header and claims JSON
 * without a member name twice, see strict-json.ts) → header (typ, alg allow-list, public
 * jwk, a did:key) → what jose's jwtVerify checked, made no looser (no crit nor b64; the
 * jwk's use, alg, key_ops and ext; exp and nbf) and the signature → claim types → htm →
 * htu → iat window → ath → key binding → jti replay.
 *
 * Verification is written out on node:crypto rather than jose's `jwtVerify(…, EmbeddedJWK)`
 * because jose goes through WebCrypto (a key import, a verify, a digest for the thumbprint,
 * each a promise served off the thread): measured on one core, 214 µs a proof through jose
 * against 133 µs here, a raw Ed25519 verify being 108 µs (bench `dpop.verify.jose`,
 * `dpop.verify`; bench/README.md, 2026-11-30). jose still signs proofs (`createDpopProof`).
 */
import { createHash, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { AuthenticationError } from './auth-errors.js';
import { compactJwsSegments, ed25519SignatureValid } from '../base/compact-jws.js';
import { didFromJwk, ed25519Thumbprint } from './did-key.js';
import { isCanonicalSegment, jsonObjectOfSegment } from './strict-json.js';

export const DPOP_ALGORITHMS = ['EdDSA'] as const;
const MAX_PROOF_LENGTH = 4096;

export interface DpopCheck {
  method: string;
  /** The URL the request was sent to, as the broker is reached (public URL + path). */
  url: string;
  /**
   * The start of `url` the broker chose (its public URL), named in a `dpop_htu_mismatch`
   * refusal so that a client can fix its base URL; the origin of `url` when not given.
   * Never the proof's htu: that is the caller's value.
   */
  base?: string | undefined;
  /** Epoch ms. */
  now: number;
  /** How far `iat` may be from now, either way. */
  skewMs: number;
  /** When the request carries an access token (an AC), the proof must bind it via `ath`. */
  accessToken?: string | undefined;
  /** When set, the proof key's thumbprint must equal this (the AC's `cnf.jkt`). */
  expectedJkt?: string | undefined;
  /** Replay cache: false when (jkt, jti) was seen before. */
  remember: (jkt: string, jti: string, expiresAt: number) => Promise<boolean>;
}

export interface VerifiedProof {
  readonly jkt: string;
  readonly jwk: JWK;
  /** The did:key of the proof key (all Bastion principals are did:key Ed25519). */
  readonly did: string;
  readonly jti: string;
}

/** RFC 9449 §4.3: compare htu without query and fragment, scheme and host case-insensitive. */
export function normaliseHtu(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/** The embedded key's optional members, refused as jose (EmbeddedJWK, WebCrypto's import) did. */
function jwkMembersAllowed(jwk: Record<string, unknown>): boolean {
  const { use, alg, key_ops: ops, ext } = jwk;
  return (
    (use === undefined || use === 'sig') &&
    (alg === undefined || alg === 'EdDSA') &&
    (ops === undefined || (Array.isArray(ops) && ops.length === 1 && ops[0] === 'verify')) &&
    (ext === undefined || typeof ext === 'boolean')
  );
}

/**
 * jose's exp and nbf rules (optional claims; when present, numbers that hold at `now`), and
 * its refusal of a clock that is not a number, which would pass every window check below.
 */
function timeClaimsHold(payload: Record<string, unknown>, now: number): boolean {
  const seconds = Math.floor(now / 1000);
  const { exp, nbf } = payload;
  return (
    Number.isFinite(seconds) &&
    (exp === undefined || (typeof exp === 'number' && exp > seconds)) &&
    (nbf === undefined || (typeof nbf === 'number' && nbf <= seconds))
  );
}

export async function verifyDpopProof(
  proof: string | string[] | undefined,
  check: DpopCheck,
): Promise<VerifiedProof> {
  if (proof === undefined || proof === '') throw new AuthenticationError('dpop_missing');
  // One proof, one header line (RFC 9449 §4.3 check 1).
  const segments =
    typeof proof === 'string' ? compactJwsSegments(proof, MAX_PROOF_LENGTH) : undefined;
  // One spelling per segment: spare bits in a last character would make one proof many,
  // and a dangling character would be dropped by the decoder rather than refused.
  if (segments === undefined || !segments.every(isCanonicalSegment)) {
    throw new AuthenticationError('dpop_invalid');
  }
  const [headerB64, payloadB64, signatureB64] = segments;
  // Header and claims are read strictly (no member name twice, UTF-8 only): the checks
  // below judge the one reading of the bytes the signature covers.
  let header: Record<string, unknown>;
  try {
    header = jsonObjectOfSegment(headerB64);
  } catch {
    throw new AuthenticationError('dpop_invalid');
  }
  if (header['typ'] !== 'dpop+jwt' || !DPOP_ALGORITHMS.includes(header['alg'] as 'EdDSA')) {
    throw new AuthenticationError('dpop_invalid');
  }
  const embedded = header['jwk'];
  if (typeof embedded !== 'object' || embedded === null || 'd' in embedded)
    throw new AuthenticationError('dpop_invalid');
  const jwk = embedded as JWK;
  const did = didFromJwk(jwk);
  if (did === undefined) throw new AuthenticationError('dpop_key_not_did');
  const x = jwk.x ?? '';

  let payload: Record<string, unknown>;
  try {
    payload = jsonObjectOfSegment(payloadB64);
  } catch {
    throw new AuthenticationError('dpop_invalid');
  }
  // Where jose's jwtVerify ran: no extension (crit) nor RFC 7797 payload (b64) for another
  // reader to honour, the key's members, the signature, then exp and nbf.
  if (
    header['crit'] !== undefined ||
    header['b64'] !== undefined ||
    !jwkMembersAllowed(embedded as Record<string, unknown>) ||
    !ed25519SignatureValid(
      headerB64,
      payloadB64,
      signatureB64,
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }),
    ) ||
    !timeClaimsHold(payload, check.now)
  ) {
    throw new AuthenticationError('dpop_invalid');
  }

  const { jti, htm, htu, iat, ath } = payload;
  if (
    typeof jti !== 'string' ||
    jti.length < 8 ||
    jti.length > 128 ||
    typeof htm !== 'string' ||
    typeof htu !== 'string' ||
    typeof iat !== 'number' ||
    !Number.isFinite(iat) ||
    (ath !== undefined && typeof ath !== 'string')
  ) {
    throw new AuthenticationError('dpop_invalid');
  }
  if (htm !== check.method) throw new AuthenticationError('dpop_htm_mismatch');
  const expected = normaliseHtu(check.url);
  if (expected === undefined || normaliseHtu(htu) !== expected) {
    const base = check.base ?? (expected === undefined ? undefined : new URL(expected).origin);
    throw new AuthenticationError('dpop_htu_mismatch', [base ?? 'an unknown URL']);
  }
  if (Math.abs(iat * 1000 - check.now) > check.skewMs) {
    throw new AuthenticationError('dpop_iat_out_of_window');
  }
  if (check.accessToken !== undefined) {
    if (ath === undefined) throw new AuthenticationError('dpop_ath_missing');
    if (ath !== accessTokenHash(check.accessToken))
      throw new AuthenticationError('dpop_ath_mismatch');
  }
  const jkt = ed25519Thumbprint(x);
  if (check.expectedJkt !== undefined && jkt !== check.expectedJkt) {
    throw new AuthenticationError('dpop_key_mismatch');
  }
  // Remember the jti for as long as the proof could still pass the iat window.
  const fresh = await check.remember(jkt, jti, iat * 1000 + check.skewMs + 1000);
  if (!fresh) throw new AuthenticationError('dpop_replayed');
  return { jkt, jwk: { kty: 'OKP', crv: 'Ed25519', x }, did, jti };
}

export interface ProofOptions {
  privateKey: KeyObject;
  publicJwk: JWK;
  method: string;
  url: string;
  /** Binds the proof to this access token (`ath`). */
  accessToken?: string | undefined;
  /** The `ath` itself, for a token the caller holds only as bytes (`accessTokenHash`). */
  ath?: string | undefined;
  /** Epoch ms; defaults to now. */
  now?: number | undefined;
  jti?: string | undefined;
}

/** A DPoP proof for one request (the client side of the RFC). */
export function createDpopProof(options: ProofOptions): Promise<string> {
  const claims: Record<string, string> = {
    htm: options.method,
    htu: normaliseHtu(options.url) ?? options.url,
  };
  if (options.accessToken !== undefined) claims['ath'] = accessTokenHash(options.accessToken);
  else if (options.ath !== undefined) claims['ath'] = options.ath;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: options.publicJwk })
    .setIssuedAt(Math.floor((options.now ?? Date.now()) / 1000))
    .setJti(options.jti ?? randomUUID())
    .sign(options.privateKey);
}
