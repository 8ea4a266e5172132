/**
 * The authorization context (AC): a JWT signed EdDSA by the broker, `typ: ac+jwt`, bound to
 * the principal's key by `cnf.jkt` (RFC 7800), carrying what the accord decided in `ctx`.
 *
 * `verifyAc` is the one verification function, in a fixed order that fails closed:
 * structure → algorithm allow-list → key by `kid` (a map lookup, never a path) → signature
 * → claim types → claim values → revocation. Each step has its own error code. jose signs;
 * verification calls node:crypto directly so that the order and the codes are ours. Header
 * and payload are read with strict-json.ts (no member name twice, UTF-8 only), so the
 * claims judged are the one reading of the bytes the signature covers; the signature must
 * be spelt canonically, so one AC is one token.
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { AcExpiredError } from '../base/errors.js';
import type { AcSigner } from '../base/signer.js';
import type { AcContext, ActorClaim, SenderConstrained } from '../credentials/types.js';
import { SENDER_CONSTRAINED } from '../credentials/types.js';
import { AuthenticationError } from './auth-errors.js';
import { CAPABILITY_BITS, capabilityMask, isCapability } from './capabilities.js';
import { compactJwsSegments, ed25519SignatureValid } from '../base/compact-jws.js';
import { isCanonicalSegment, jsonObjectOfSegment } from './strict-json.js';

export const AC_TYP = 'ac+jwt';
export const AC_ALGORITHMS = ['EdDSA'] as const;
/** Longer tokens are refused as malformed before anything else is done with them. */
export const MAX_AC_LENGTH = 8192;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface CommandPolicy {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/**
 * The `ctx` claim: the seed's serialized AuthorizationContext — what backends receive as
 * AcContext, less the id and expiry (the JWT's `jti` and `exp`).
 */
export type AcContextClaim = Omit<AcContext, 'ac_id' | 'expires_at' | 'act'>;

export interface AcClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly jti: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly cnf: { readonly jkt: string };
  readonly ctx: AcContextClaim;
  /** In a token derived from an AC (a Bascule grant): the id of that AC. */
  readonly ac?: string | undefined;
  /** Delegation (RFC 8693): the agent that holds this AC for `sub`, and the chain before it. */
  readonly act?: ActorClaim | undefined;
}

export function signAc(claims: AcClaims, signer: AcSigner): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: AC_TYP, kid: signer.kid })
    .sign(signer.privateKey);
}

export interface VerifyAcOptions {
  /** Verification keys by kid; a Map, so a hostile kid is only ever a failed lookup. */
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly issuer: string;
  readonly audience: string;
  /** Epoch ms. */
  readonly now: number;
  /** Allowance for clock differences on exp, nbf and iat. */
  readonly skewMs: number;
  readonly isRevoked: (acId: string) => Promise<boolean>;
}

export interface VerifiedAc {
  readonly token: string;
  readonly kid: string;
  readonly claims: AcClaims;
}

type Json = Record<string, unknown>;

export async function verifyAc(token: unknown, options: VerifyAcOptions): Promise<VerifiedAc> {
  // 1. Structure.
  if (typeof token !== 'string' || token.length === 0) throw new AuthenticationError('ac_missing');
  const parts = compactJwsSegments(token, MAX_AC_LENGTH);
  if (parts === undefined) throw new AuthenticationError('ac_malformed');
  const [headerB64, payloadB64, signatureB64] = parts;
  let header: Json;
  try {
    header = jsonObjectOfSegment(headerB64);
  } catch {
    throw new AuthenticationError('ac_malformed');
  }
  if (header['typ'] !== AC_TYP || header['crit'] !== undefined)
    throw new AuthenticationError('ac_malformed');

  // 2. Algorithm allow-list, before any key is looked at.
  if (!AC_ALGORITHMS.includes(header['alg'] as 'EdDSA'))
    throw new AuthenticationError('ac_alg_not_allowed');

  // 3. Key by kid: a map lookup of a syntax-checked id.
  const kid = header['kid'];
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid))
    throw new AuthenticationError('ac_unknown_key');
  const key = options.keys.get(kid);
  if (key === undefined || key.asymmetricKeyType !== 'ed25519')
    throw new AuthenticationError('ac_unknown_key');

  // 4. Signature over the exact bytes received.
  if (
    !isCanonicalSegment(signatureB64) ||
    !ed25519SignatureValid(headerB64, payloadB64, signatureB64, key)
  ) {
    throw new AuthenticationError('ac_bad_signature');
  }

  // 5. Claim types.
  let payload: Json;
  try {
    payload = jsonObjectOfSegment(payloadB64);
  } catch {
    throw new AuthenticationError('ac_claims_invalid');
  }
  const claims = claimsOf(payload);
  if (claims === undefined) throw new AuthenticationError('ac_claims_invalid');

  // 6. Claim values.
  if (claims.iss !== options.issuer) throw new AuthenticationError('ac_wrong_issuer');
  if (claims.aud !== options.audience) throw new AuthenticationError('ac_wrong_audience');
  if (claims.sub !== claims.ctx.principal_did || claims.jti.length === 0) {
    throw new AuthenticationError('ac_claims_invalid');
  }
  if (!(claims.nbf <= claims.exp) || !(claims.iat <= claims.exp))
    throw new AuthenticationError('ac_claims_invalid');
  if (claims.ctx.capability_mask !== capabilityMask(claims.ctx.capabilities.filter(isCapability))) {
    throw new AuthenticationError('ac_claims_invalid');
  }
  checkAcTimes(claims, options.now, options.skewMs);

  // 7. Revocation, last: it is the only step that reads state.
  if (await options.isRevoked(claims.jti)) throw new AuthenticationError('ac_revoked');
  return { token, kid, claims };
}

/**
 * The time claims at `now` (epoch ms), with the skew: expired, or not yet valid (nbf, iat).
 * Its own function because a cached verification (ac-cache.ts) applies it again at every use.
 */
export function checkAcTimes(
  claims: Pick<AcClaims, 'exp' | 'nbf' | 'iat'>,
  now: number,
  skewMs: number,
): void {
  if (now >= claims.exp * 1000 + skewMs) throw new AcExpiredError();
  if (claims.nbf * 1000 > now + skewMs || claims.iat * 1000 > now + skewMs) {
    throw new AuthenticationError('ac_not_yet_valid');
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length <= 2048;
const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length <= 256 && v.every(isString);

function commandsOf(v: unknown): CommandPolicy | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null) return null;
  const { allow, deny } = v as Json;
  return isStringList(allow) && isStringList(deny) ? { allow, deny } : null;
}

/** An RFC 8693 actor chain, at most 4 deep; null when malformed. */
function actorOf(v: unknown, depth: number): ActorClaim | null {
  if (depth >= 4 || typeof v !== 'object' || v === null) return null;
  const { sub, act } = v as Json;
  if (!isString(sub)) return null;
  if (act === undefined) return { sub };
  const inner = actorOf(act, depth + 1);
  return inner === null ? null : { sub, act: inner };
}

/** Typed claims, or undefined when any claim has the wrong type. */
function claimsOf(p: Json): AcClaims | undefined {
  const { iss, sub, aud, jti, iat, nbf, exp, cnf, ctx, ac } = p;
  if (ac !== undefined && !isString(ac)) return undefined;
  const act = p['act'] === undefined ? undefined : actorOf(p['act'], 0);
  if (act === null) return undefined;
  if (!isString(iss) || !isString(sub) || !isString(aud) || !isString(jti)) return undefined;
  if (!isTime(iat) || !isTime(nbf) || !isTime(exp)) return undefined;
  if (typeof cnf !== 'object' || cnf === null || !isString((cnf as Json)['jkt'])) return undefined;
  if (typeof ctx !== 'object' || ctx === null) return undefined;
  const c = ctx as Json;
  const commands = commandsOf(c['commands']);
  const paths = commandsOf(c['paths']);
  const sshPrincipals = c['ssh_principals'];
  const kerberosPrincipal = c['kerberos_principal'];
  const senderConstrained = c['sender_constrained'];
  if (
    !isString(c['principal_did']) ||
    !Number.isSafeInteger(c['capability_mask']) ||
    (c['capability_mask'] as number) < 0 ||
    (c['capability_mask'] as number) >= 2 * CAPABILITY_BITS.admin ||
    !isStringList(c['capabilities']) ||
    !isString(c['accord_template']) ||
    !isString(c['connector']) ||
    !isString(c['target']) ||
    commands === null ||
    paths === null ||
    (sshPrincipals !== undefined && !isStringList(sshPrincipals)) ||
    (kerberosPrincipal !== undefined && !isString(kerberosPrincipal)) ||
    (senderConstrained !== undefined &&
      !(SENDER_CONSTRAINED as readonly unknown[]).includes(senderConstrained))
  ) {
    return undefined;
  }
  return {
    iss,
    sub,
    aud,
    jti,
    iat,
    nbf,
    exp,
    cnf: { jkt: (cnf as Json)['jkt'] as string },
    ...(ac !== undefined ? { ac } : {}),
    ...(act !== undefined ? { act } : {}),
    ctx: {
      principal_did: c['principal_did'],
      capability_mask: c['capability_mask'] as number,
      capabilities: c['capabilities'],
      accord_template: c['accord_template'],
      connector: c['connector'],
      target: c['target'],
      ...(commands !== undefined ? { commands } : {}),
      ...(paths !== undefined ? { paths } : {}),
      ...(sshPrincipals !== undefined ? { ssh_principals: sshPrincipals } : {}),
      ...(kerberosPrincipal !== undefined ? { kerberos_principal: kerberosPrincipal } : {}),
      ...(senderConstrained !== undefined
        ? { sender_constrained: senderConstrained as SenderConstrained }
        : {}),
    },
  };
}

/**
 * Decodes an AC's payload WITHOUT verifying anything: for display and debugging only,
 * never for a decision.
 */
export function unsafeDecodeAc(token: string): unknown {
  const parts = compactJwsSegments(token, Infinity);
  if (parts === undefined) return undefined;
  try {
    return jsonObjectOfSegment(parts[1]);
  } catch {
    return undefined;
  }
}

/** The context a credential backend receives for a verified AC. */
export function acContextOf(claims: AcClaims): AcContext {
  return {
    ...claims.ctx,
    ac_id: claims.jti,
    expires_at: claims.exp,
    ...(claims.act !== undefined ? { act: claims.act } : {}),
  };
}
