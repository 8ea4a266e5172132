/**
 * A fresh Ed25519 key pair for one invocation, in the forms an SSH credential needs: the
 * raw public key (to certify) and the private key as an `openssh-key-v1` PEM in a Buffer
 * the caller hands to `Secret.adopt`. The seed is read without a JS string and zeroed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { rawEd25519PublicKey, rawEd25519Seed } from './ed25519.js';
import { opensshPrivateKeyPem } from './private-key.js';

export interface EphemeralKey {
  readonly publicKey32: Buffer;
  /** The private key, PEM; the caller owns it (and zero-fills it, through a Secret). */
  readonly pem: Buffer;
}

export function ephemeralEd25519Key(comment: string): EphemeralKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey32 = rawEd25519PublicKey(privateKey);
  const seed = rawEd25519Seed(privateKey);
  try {
    return { publicKey32, pem: opensshPrivateKeyPem(seed, publicKey32, comment) };
  } finally {
    seed.fill(0);
  }
}
