/**
 * A FetchJWTSVID reply as the broker's `oauth` credential: the JWT-SVID is the bearer token
 * the HTTP connector presents. The token goes into a `Secret` as soon as it is found; its
 * claims are then read WITHOUT verifying the signature (the broker is not its audience),
 * and may only refuse it: `sub` must be the SPIFFE ID the reply names, `aud` exactly the
 * audience asked for, `exp` a time after the call started (it sets the credential's expiry,
 * which the resolver then holds to its window). The signature is the target's to verify,
 * against the trust domain's JWT bundle or through its own agent (ValidateJWTSVID).
 */
import { Secret } from '../../credentials/secret.js';
import type { OAuthCredential } from '../../credentials/types.js';
import { accessTokenOf, oauthCredential } from '../oauth/credential.js';
import { unsafePayload } from '../oauth/unverified-jwt.js';
import { chosenSvid, replyFailure } from './replies.js';

export interface JwtSvidRequest {
  readonly target: string;
  readonly audience: string;
  /** The identity asked for; undefined: the agent's first (default) one. */
  readonly spiffeId: string | undefined;
  /** Epoch ms the call started: the SVID must expire after it. */
  readonly started: number;
  readonly issuedBy: string;
}

/** `aud` as JWT allows it (one string or a list): exactly the one audience asked for. */
function audienceIs(aud: unknown, audience: string): boolean {
  if (typeof aud === 'string') return aud === audience;
  return Array.isArray(aud) && aud.length === 1 && aud[0] === audience;
}

function secondsOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function jwtSvidCredential(reply: unknown, request: JwtSvidRequest): OAuthCredential {
  const svid = chosenSvid(reply, request.spiffeId);
  // The reply's unavoidable JS string; the Secret is the copy the broker keeps.
  const token = accessTokenOf(svid['svid']);
  const accessToken = Secret.fromString(token);
  try {
    const claims = unsafePayload(token);
    const exp = secondsOf(claims?.['exp']);
    const nbf = claims?.['nbf'];
    if (
      claims === undefined ||
      claims['sub'] !== svid.spiffe_id ||
      !audienceIs(claims['aud'], request.audience) ||
      exp === undefined ||
      exp * 1000 <= request.started ||
      (nbf !== undefined && secondsOf(nbf) === undefined)
    ) {
      throw replyFailure();
    }
    const notBefore = secondsOf(nbf);
    return {
      ...oauthCredential({
        target: request.target,
        accessToken,
        scope: [],
        ...(notBefore !== undefined ? { notBefore: new Date(notBefore * 1000) } : {}),
        expiresAt: new Date(exp * 1000),
        issuedBy: request.issuedBy,
      }),
      scopedTo: `JWT-SVID of ${svid.spiffe_id} for audience ${request.audience}`,
    };
  } catch (err) {
    accessToken.dispose();
    throw err;
  }
}
