/**
 * The "before" of #13 part 5, kept in the benchmark only: a DPoP proof verified the way
 * src/governance/dpop.ts did until 2026-11-30, through jose's `jwtVerify(…, EmbeddedJWK)`
 * (WebCrypto key import and verify) and jose's thumbprint (WebCrypto digest), so that the
 * node:crypto path and this one are timed in the same run. The strict parse, did:key and
 * htu steps are kept; the claim-type, iat, ath and jti steps (a few comparisons, the same
 * in both) are left out.
 */
import { EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { didFromJwk, thumbprint } from '../../src/governance/did-key.js';
import { normaliseHtu } from '../../src/governance/dpop.js';
import { jsonObjectOfSegment } from '../../src/governance/strict-json.js';

/** The proof key's thumbprint, once jose has verified the proof for `url` at `now`. */
export async function verifyDpopProofWithJose(
  proof: string,
  url: string,
  now: number,
): Promise<string> {
  const [headerB64 = '', payloadB64 = ''] = proof.split('.');
  const jwk = jsonObjectOfSegment(headerB64)['jwk'] as JWK;
  jsonObjectOfSegment(payloadB64);
  if (didFromJwk(jwk) === undefined) throw new Error('not a did:key');
  const { payload } = await jwtVerify(proof, EmbeddedJWK, {
    algorithms: ['EdDSA'],
    typ: 'dpop+jwt',
    currentDate: new Date(now),
  });
  if (normaliseHtu(String(payload['htu'])) !== normaliseHtu(url)) throw new Error('htu');
  return thumbprint(jwk);
}
