/**
 * The broker as a DPoP client of other servers (RFC 9449): an ephemeral Ed25519 key per
 * invocation, made for one sender-constrained OAuth token and zero-filled with it, and the
 * proofs it signs — at the token endpoint, then for every request to the target API. The
 * seed lives in a Secret; a KeyObject is made from it for one signature only. Proofs are
 * built by `createDpopProof`, the same code the broker's own client uses.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Secret } from '../credentials/secret.js';
import type { DpopKey } from '../credentials/types.js';
import { PKCS8_ED25519_PREFIX, rawEd25519PublicKey, rawEd25519Seed } from '../ssh/ed25519.js';
import { ed25519Thumbprint } from './did-key.js';
import { createDpopProof } from './dpop.js';

/** A fresh key; the caller owns its seed (dispose it, or hand it on in a credential). */
export function newDpopKey(): DpopKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = rawEd25519PublicKey(publicKey).toString('base64url');
  return { seed: Secret.adopt(rawEd25519Seed(privateKey)), x, jkt: ed25519Thumbprint(x) };
}

function privateKeyOf(seed: Secret): KeyObject {
  return seed.use((bytes) => {
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, bytes]);
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
  });
}

/** `ath`: the token's SHA-256, hashed from its bytes so that it needs no JS string. */
function athOf(token: Secret): string {
  return token.use((bytes) => createHash('sha256').update(bytes).digest('base64url'));
}

/** A proof for one request (`htu` loses query and fragment), bound to `token` when given. */
export function signDpopProof(
  key: DpopKey,
  method: string,
  url: string,
  token?: Secret,
): Promise<string> {
  return createDpopProof({
    privateKey: privateKeyOf(key.seed),
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: key.x },
    method,
    url,
    ath: token === undefined ? undefined : athOf(token),
  });
}
