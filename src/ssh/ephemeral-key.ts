/**
 * A fresh Ed25519 key pair for one invocation, in the forms an SSH credential needs: the
 * raw public key (to certify) and the private key as an `openssh-key-v1` PEM in a Buffer
 * the caller hands to `Secret.adopt`. The seed is read without a JS string and zeroed.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { PKCS8_ED25519_PREFIX, rawEd25519PublicKey } from './ed25519.js';
import { opensshPrivateKeyPem } from './private-key.js';

export interface EphemeralKey {
  readonly publicKey32: Buffer;
  /** The private key, PEM; the caller owns it (and zero-fills it, through a Secret). */
  readonly pem: Buffer;
}

export function ephemeralEd25519Key(comment: string): EphemeralKey {
  // The PKCS#8 encoding is made inside the key generation: no private KeyObject reaches
  // JS, and one call into OpenSSL instead of two (the export is its costliest part).
  // (@types/node has no overload for an encoded private half with a KeyObject public one.)
  const { publicKey, privateKey: der } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
  }) as unknown as { publicKey: KeyObject; privateKey: Buffer };
  try {
    if (
      der.byteLength !== PKCS8_ED25519_PREFIX.byteLength + 32 ||
      !der.subarray(0, PKCS8_ED25519_PREFIX.byteLength).equals(PKCS8_ED25519_PREFIX)
    ) {
      throw new RangeError('unexpected PKCS#8 encoding');
    }
    const publicKey32 = rawEd25519PublicKey(publicKey);
    const seed = der.subarray(PKCS8_ED25519_PREFIX.byteLength);
    return { publicKey32, pem: opensshPrivateKeyPem(seed, publicKey32, comment) };
  } finally {
    der.fill(0);
  }
}
