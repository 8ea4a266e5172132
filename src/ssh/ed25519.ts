/**
 * Ed25519 keys in OpenSSH's public forms: the raw halves of a node:crypto KeyObject, the
 * public key blob and `authorized_keys` line, and the `SHA256:` fingerprint.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { sshString } from './wire.js';

export const ED25519 = 'ssh-ed25519';

/** DER of PKCS#8 `PrivateKeyInfo` for Ed25519 up to the 32-byte seed (RFC 8410). */
export const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function ed25519PublicBlob(publicKey32: Uint8Array): Buffer {
  return Buffer.concat([sshString(ED25519), sshString(publicKey32)]);
}

/** `ssh-ed25519 AAAA… comment`, as in authorized_keys or TrustedUserCAKeys. */
export function ed25519PublicKeyLine(publicKey32: Uint8Array, comment: string): string {
  return `${ED25519} ${ed25519PublicBlob(publicKey32).toString('base64')} ${comment}`.trimEnd();
}

/** The raw 32-byte Ed25519 public key of a KeyObject (public or private). */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  // The JWK export of the public half is ~30× cheaper than a DER (SPKI) export here, and
  // holds no private bytes.
  const { x } = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  const raw = Buffer.from(x ?? '', 'base64url');
  if (raw.byteLength !== 32) throw new RangeError('not an Ed25519 key');
  return raw;
}

/** The 32-byte seed of an Ed25519 private KeyObject, read without a JS string; zero it after use. */
export function rawEd25519Seed(privateKey: KeyObject): Buffer {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = Buffer.alloc(32);
  pkcs8.copy(seed, 0, pkcs8.byteLength - 32);
  pkcs8.fill(0);
  return seed;
}

/** OpenSSH's `SHA256:…` fingerprint of a public key blob. */
export function sshFingerprint(publicKeyBlob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}
