/**
 * DPoP proofs for load generation. The broker must see a fresh proof (new `jti`, `iat`
 * within the clock skew) on every request, so the load generator signs one per request.
 * `createDpopProof` (jose) is async and slower than the request it accompanies; this signer
 * makes the same JWT synchronously with `crypto.sign`, so it can run inside autocannon's
 * `setupRequest` hook and in tight open-loop schedules. The broker verifies these proofs
 * with its ordinary code path (test/governance covers that the format is the RFC's).
 */
import { randomUUID, sign } from 'node:crypto';
import { accessTokenHash, normaliseHtu } from '../../src/governance/dpop.js';
import type { PrincipalKey } from '../../src/governance/did-key.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export class ProofSigner {
  readonly #key: PrincipalKey;
  readonly #header: string;
  /** ath per access token: the hash is the same for every proof bound to one AC. */
  readonly #ath = new Map<string, string>();

  constructor(key: PrincipalKey) {
    this.#key = key;
    this.#header = b64({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: key.publicJwk });
  }

  /** A proof for one request to `url` with `method`, bound to `accessToken` when given. */
  proof(method: string, url: string, accessToken?: string): string {
    const claims: Record<string, string | number> = {
      htm: method,
      htu: normaliseHtu(url) ?? url,
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
    };
    if (accessToken !== undefined) {
      let ath = this.#ath.get(accessToken);
      if (ath === undefined) {
        ath = accessTokenHash(accessToken);
        this.#ath.set(accessToken, ath);
      }
      claims['ath'] = ath;
    }
    const input = `${this.#header}.${b64(claims)}`;
    const signature = sign(null, Buffer.from(input), this.#key.privateKey).toString('base64url');
    return `${input}.${signature}`;
  }
}
