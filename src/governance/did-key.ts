/**
 * Principals are `did:key` DIDs for Ed25519 keys (did:key spec, multicodec `ed25519-pub`
 * 0xed01, base58btc multibase). Self-certifying: resolving one needs no network, only
 * decoding. Key files are PKCS#8 PEM, written 0600.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { base58btc } from 'multiformats/bases/base58';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigError, InvalidArgumentError } from '../base/errors.js';

const ED25519_PUB = [0xed, 0x01] as const;
export const DID_KEY_PATTERN = /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/;

export function didFromPublicKey(raw32: Uint8Array): string {
  if (raw32.byteLength !== 32) throw new InvalidArgumentError('public key');
  const bytes = new Uint8Array(34);
  bytes.set(ED25519_PUB, 0);
  bytes.set(raw32, 2);
  return `did:key:${base58btc.encode(bytes)}`;
}

/** The raw Ed25519 public key a did:key names; throws InvalidArgumentError('did') otherwise. */
export function publicKeyFromDid(did: string): Uint8Array {
  if (typeof did !== 'string' || !DID_KEY_PATTERN.test(did)) throw new InvalidArgumentError('did');
  let bytes: Uint8Array;
  try {
    bytes = base58btc.decode(did.slice('did:key:'.length));
  } catch {
    throw new InvalidArgumentError('did');
  }
  if (bytes.byteLength !== 34 || bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1]) {
    throw new InvalidArgumentError('did');
  }
  return bytes.slice(2);
}

export function jwkFromDid(did: string): JWK {
  return {
    kty: 'OKP',
    crv: 'Ed25519',
    x: Buffer.from(publicKeyFromDid(did)).toString('base64url'),
  };
}

/** The did:key of an Ed25519 public JWK, or undefined when the JWK is anything else. */
export function didFromJwk(jwk: JWK): string | undefined {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') return undefined;
  const raw = Buffer.from(jwk.x, 'base64url');
  if (raw.byteLength !== 32 || raw.toString('base64url') !== jwk.x) return undefined;
  return didFromPublicKey(raw);
}

export function publicJwkOf(key: KeyObject): JWK {
  const { crv, x } = createPublicKey(key).export({ format: 'jwk' });
  if (crv !== 'Ed25519' || x === undefined) throw new InvalidArgumentError('key type');
  return { kty: 'OKP', crv, x };
}

/** RFC 7638 thumbprint (the `cnf.jkt` of an AC bound to this key). */
export function thumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x } as JWK, 'sha256');
}

/**
 * `thumbprint()` of an Ed25519 key, synchronously on node:crypto: RFC 7638's required
 * members in lexicographic order, SHA-256, base64url (equal to jose's; tested). Where a
 * thumbprint is taken per request (a DPoP proof), or must not wait (a policy reload).
 */
export function ed25519Thumbprint(x: string): string {
  const canonical = JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x });
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

export interface PrincipalKey {
  readonly did: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

function principalOf(privateKey: KeyObject): PrincipalKey {
  const publicJwk = publicJwkOf(privateKey);
  return { did: didFromJwk(publicJwk) ?? '', privateKey, publicJwk };
}

export function generatePrincipalKey(): PrincipalKey {
  return principalOf(generateKeyPairSync('ed25519').privateKey);
}

/** Writes a new principal key (PKCS#8 PEM, mode 0600; never over a file unless `replace`). */
export function writePrincipalKey(file: string, options: { replace?: boolean } = {}): PrincipalKey {
  const key = generatePrincipalKey();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Replacing unlinks first: the new key is then created 0600, whatever the old file's mode.
  if (options.replace === true) rmSync(file, { force: true });
  const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  try {
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(file, 'a file already exists there; refusing to overwrite a key');
    }
    throw err;
  }
  return key;
}

/** Reads a principal key file; refuses one that group or others can read. */
export function readPrincipalKey(file: string): PrincipalKey {
  let pem: Buffer;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new ConfigError(file, 'key file must not be readable by group or others (chmod 600)');
    }
    pem = readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, 'cannot read the key file');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigError(file, 'not a PKCS#8 PEM private key');
  } finally {
    pem.fill(0);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(file, 'not an Ed25519 key');
  return principalOf(key);
}
