/**
 * The key object handed to ssh2 for OpenSSH-certificate auth, built so that ssh2 never sees
 * the private key. ssh2 gets a key parsed from the certificate's *public* key line, with
 * four properties overridden: the certificate type and blob (what sshd checks against
 * TrustedUserCAKeys), `isPrivateKey` (so ssh2 accepts it for publickey auth) and `sign`.
 * `sign` reads the Ed25519 seed from the credential's Secret each time, signs with
 * node:crypto, and zero-fills every Buffer that held the seed (decoded PEM, seed, PKCS#8
 * DER) at once. The private key never becomes a JS string and never reaches ssh2's parser
 * (which would copy it into its own objects and keep a PEM string of it).
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { ED25519_CERT, parseEd25519Certificate, SSH_CERT_TYPE_USER } from './certificate.js';
import {
  ED25519,
  ed25519PublicKeyLine,
  PKCS8_ED25519_PREFIX,
  rawEd25519PublicKey,
} from './ed25519.js';
import { opensshSeedFromPem } from './private-key.js';
import { ssh2, type Ssh2ParsedKey } from './ssh2-cert-patch.js';

/**
 * What this module needs of a credential's Secret: scoped read access to the bytes. Spelt
 * out here so that the SSH room depends on no other Bastion folder (credentials' Secret fits).
 */
export interface SecretBytes {
  use<T>(fn: (bytes: Buffer) => T): T;
}

/** An OpenSSH user certificate (public, one line) and the PEM of its private key. */
export interface CertificateCredential {
  readonly certificate: string;
  readonly privateKey: SecretBytes;
}

/** Why a credential cannot become an ssh2 key; fixed text, never quoting the credential. */
export class SshKeyError extends Error {
  constructor(message: 'certificate malformed' | 'private key malformed' | 'key mismatch') {
    super(message);
    this.name = 'SshKeyError';
  }
}

/**
 * Runs `fn` with a KeyObject made from the seed in `pem`, after checking that its public key
 * is `expectedPublic32`. The KeyObject lives in OpenSSL memory until collected (Node offers
 * no way to wipe it); every JS-side copy of the seed is zeroed before `fn` runs.
 */
function withSigningKey<T>(
  pem: SecretBytes,
  expectedPublic32: Buffer,
  fn: (key: KeyObject) => T,
): T {
  let seed: Buffer;
  try {
    seed = pem.use((bytes) => opensshSeedFromPem(bytes));
  } catch (err) {
    if (err instanceof RangeError) throw new SshKeyError('private key malformed');
    throw err;
  }
  const der = Buffer.alloc(PKCS8_ED25519_PREFIX.byteLength + 32);
  let key: KeyObject;
  try {
    PKCS8_ED25519_PREFIX.copy(der, 0);
    seed.copy(der, PKCS8_ED25519_PREFIX.byteLength);
    seed.fill(0);
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    seed.fill(0);
    der.fill(0);
  }
  if (!rawEd25519PublicKey(key).equals(expectedPublic32)) throw new SshKeyError('key mismatch');
  return fn(key);
}

/** The public key an Ed25519 *user* certificate certifies, and the certificate's blob. */
function certified(certificate: string): { publicKey32: Buffer; certBlob: Buffer } {
  try {
    const cert = parseEd25519Certificate(certificate);
    if (cert.certType !== SSH_CERT_TYPE_USER || cert.publicKey32.byteLength !== 32) {
      throw new RangeError('not a user certificate');
    }
    const certBlob = Buffer.from(certificate.trim().split(/\s+/)[1] ?? '', 'base64');
    return { publicKey32: cert.publicKey32, certBlob };
  } catch {
    throw new SshKeyError('certificate malformed');
  }
}

/**
 * Checks that the certificate is an Ed25519 user certificate and that it certifies the
 * public key of the private key in the Secret. The public key is derived from the seed
 * (not taken from the PEM, which states one too), as for signing: every JS-side copy of
 * the seed is zeroed before the comparison, and nothing of it is returned. Throws
 * SshKeyError ('certificate malformed', 'private key malformed' or 'key mismatch').
 */
export function checkCertificateKeyPair(credential: CertificateCredential): void {
  const { publicKey32 } = certified(credential.certificate);
  withSigningKey(credential.privateKey, publicKey32, () => undefined);
}

/**
 * The ssh2 `publickey` key for an `ssh_cert` credential. Checks, before anything is sent,
 * that the certificate is an Ed25519 *user* certificate and that the private key in the
 * Secret belongs to it; throws SshKeyError otherwise (and SecretDisposedError when the
 * Secret is disposed). The returned object holds no key material: only the Secret does.
 */
export function certificateAuthKey(credential: CertificateCredential): Ssh2ParsedKey {
  const { publicKey32, certBlob } = certified(credential.certificate);
  const parsed = ssh2.utils.parseKey(ed25519PublicKeyLine(publicKey32, ''));
  if (parsed instanceof Error || parsed.type !== ED25519) {
    throw new SshKeyError('certificate malformed');
  }
  // Check the pair now, so a mismatched credential fails before connecting.
  withSigningKey(credential.privateKey, publicKey32, () => undefined);

  const signWithCredential = (data: Buffer): Buffer | Error => {
    try {
      return withSigningKey(credential.privateKey, publicKey32, (key) => sign(null, data, key));
    } catch {
      // ssh2 expects an Error back, which it reports at level client-authentication.
      return new Error('Signing with the SSH credential failed');
    }
  };
  return Object.create(parsed, {
    type: { value: ED25519_CERT },
    getPublicSSH: { value: () => Buffer.from(certBlob) },
    isPrivateKey: { value: () => true },
    sign: { value: signWithCredential },
  }) as Ssh2ParsedKey;
}
