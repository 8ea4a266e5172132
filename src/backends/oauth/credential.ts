/**
 * The one builder of `OAuthCredential`s: the shape every backend issues (Bearer, scopes,
 * target, issuing backend, a description), and on top of it the credential for a token an
 * authorization server issued (Entra, token exchange) — the access token copied into a
 * `Secret`, an expiry the token's own `exp` may only bring closer — with the checks every
 * reply's token must pass first.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { Secret } from '../../credentials/secret.js';
import type { DpopKey, OAuthCredential } from '../../credentials/types.js';
import { unsafeJwtExpiry, unsafeJwtId } from './unverified-jwt.js';

/** Printable ASCII: what an access token may be made of. */
const ACCESS_TOKEN = /^[\x21-\x7E]{1,16384}$/;

/** The access token a reply carries, or `backend_error` when it is not one. */
export function accessTokenOf(value: unknown): string {
  if (typeof value !== 'string' || !ACCESS_TOKEN.test(value)) {
    throw new CredentialResolutionError(BackendReasons.failed);
  }
  return value;
}

/** Bearer only: a PoP-, DPoP- or MTLS-bound token needs a key these backends do not hold. */
export function isBearer(tokenType: unknown): boolean {
  return typeof tokenType === 'string' && tokenType.toLowerCase() === 'bearer';
}

/** What an `OAuthCredential` says besides its fixed type (Bearer) and description. */
export interface OAuthCredentialFields {
  readonly target: string;
  readonly accessToken: Secret;
  readonly scope: readonly string[];
  readonly notBefore?: Date;
  readonly expiresAt: Date;
  readonly issuedBy: string;
  readonly id?: string | undefined;
  /** The key a DPoP-bound token is bound to; the credential then says `DPoP`. */
  readonly dpop?: DpopKey | undefined;
}

/** An `oauth` credential: a Bearer (or DPoP) token for `target`, described by its scopes. */
export function oauthCredential(fields: OAuthCredentialFields): OAuthCredential {
  const { target, scope, notBefore, id, dpop } = fields;
  return {
    type: 'oauth',
    target,
    accessToken: fields.accessToken,
    tokenType: dpop !== undefined ? 'DPoP' : 'Bearer',
    ...(dpop !== undefined ? { dpop } : {}),
    scope,
    ...(notBefore !== undefined ? { notBefore } : {}),
    expiresAt: fields.expiresAt,
    scopedTo: `${scope.join(' ') || 'no scope'} at ${target}`,
    issuedBy: fields.issuedBy,
    ...(id !== undefined ? { id } : {}),
  };
}

/** A token an authorization server issued, as its reply gave it. */
export interface IssuedToken {
  /** The reply's access token, checked by `accessTokenOf`: its unavoidable JS string. */
  readonly token: string;
  readonly target: string;
  readonly scope: readonly string[];
  /** When the reply says the token expires, epoch ms; NaN when it does not say. */
  readonly expiresAt: number;
  /** The token must expire after this (epoch ms), or the reply is refused. */
  readonly expiresAfter?: number;
  readonly issuedBy: string;
  readonly dpop?: DpopKey | undefined;
}

/**
 * The credential for an issued token: the token copied into a Secret (the one place it
 * is kept), its id read unverified, and its expiry the earlier of the reply's and the
 * token's own `exp` (read unverified): `backend_error` when neither is known, or when it
 * falls at or before `expiresAfter`.
 */
export function issuedCredential(issued: IssuedToken): OAuthCredential {
  const { token } = issued;
  const jwtExp = unsafeJwtExpiry(token);
  const candidates = [issued.expiresAt, jwtExp !== undefined ? jwtExp * 1000 : NaN].filter(
    Number.isFinite,
  );
  const expiresAt = Math.min(...candidates);
  if (
    candidates.length === 0 ||
    (issued.expiresAfter !== undefined && expiresAt <= issued.expiresAfter)
  ) {
    throw new CredentialResolutionError(BackendReasons.failed);
  }
  return oauthCredential({
    target: issued.target,
    accessToken: Secret.fromString(token),
    scope: issued.scope,
    expiresAt: new Date(expiresAt),
    issuedBy: issued.issuedBy,
    id: unsafeJwtId(token),
    dpop: issued.dpop,
  });
}
