/**
 * An Entra on-behalf-of result as the broker's credential: a Bearer access token, its
 * expiry (MSAL's `expiresOn`, which the token's own `exp` may only bring closer), and the
 * granted scopes less the OpenID ones MSAL adds, which must stay within the scopes asked
 * for unless `.default` left the choice to Entra.
 */
import type { AuthenticationResult } from '@azure/msal-node';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import type { OAuthCredential } from '../../credentials/types.js';
import { accessTokenOf, isBearer, issuedCredential } from '../oauth/credential.js';
import { isScopeToken, isWithinRequested } from '../oauth/scopes.js';

/** Scopes MSAL adds to every request; they say nothing about the resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export function entraCredential(
  result: AuthenticationResult | null,
  request: {
    readonly target: string;
    readonly requested: readonly string[];
    /** Epoch ms the call started: the token must expire after it. */
    readonly started: number;
    readonly issuedBy: string;
  },
): OAuthCredential {
  const { target, requested } = request;
  // MSAL's unavoidable JS string; the builder copies it into a Secret.
  const token = accessTokenOf(result?.accessToken);
  if (result === null || !isBearer(result.tokenType)) {
    throw new CredentialResolutionError(BackendReasons.failed);
  }
  const scope = (Array.isArray(result.scopes) ? result.scopes : []).filter(
    (s) => typeof s === 'string' && isScopeToken(s) && !OIDC_SCOPES.has(s),
  );
  // `.default` leaves the choice to Entra; anything narrower must not come back wider.
  const narrowed = !requested.some((s) => s.endsWith('/.default'));
  if (narrowed && !isWithinRequested(scope, requested, target)) {
    throw new CredentialResolutionError(BackendReasons.failed);
  }
  return issuedCredential({
    token,
    target,
    scope,
    expiresAt: result.expiresOn instanceof Date ? result.expiresOn.getTime() : NaN,
    expiresAfter: request.started,
    issuedBy: request.issuedBy,
  });
}
