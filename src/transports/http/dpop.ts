/**
 * The signing hook (sign.ts) for a DPoP-bound OAuth token (RFC 9449): every hop the
 * transport sends carries `Authorization: DPoP <token>` and a fresh proof, signed with the
 * credential's per-invocation key, for that hop's method and URL (htu: scheme, Host and
 * path, without the query) and bound to the token (`ath`). A proof is never reused: a
 * followed redirect gets its own.
 */
import { signDpopProof } from '../../governance/dpop-key.js';
import type { OAuthCredential } from '../../credentials/types.js';
import { dpopHeader } from './request-headers.js';
import type { RequestSigner } from './sign.js';

export function dpopSigner(credential: OAuthCredential): RequestSigner | undefined {
  const key = credential.dpop;
  if (key === undefined) return undefined;
  return async (request) => {
    const url = `${request.scheme}://${request.host}${request.requestPath}`;
    const proof = await signDpopProof(key, request.method, url, credential.accessToken);
    return { authorization: dpopHeader(credential.accessToken), dpop: proof };
  };
}
