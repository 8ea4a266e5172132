/**
 * The signing keys' home in the database (`signing_keys: database`, the default on
 * PostgreSQL): one keyring every replica shares. The active private key is stored wrapped
 * (key-wrap.ts) with its kid, public key and format version as associated data, so a row
 * whose ciphertext, kid or version was changed does not decrypt; each key's public half is
 * sealed the same way (an empty plaintext), so whoever can write the database cannot add a
 * key the broker would verify with, and each kid must be its key's thumbprint. Private key
 * bytes exist only in a Secret, zero-filled once the KeyObject is made.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { BastionError, ConfigError } from '../base/errors.js';
import type { AcSigner } from '../base/signer.js';
import { Secret } from '../credentials/secret.js';
import { WRAPPED_PREFIX } from '../store/signing-keys.js';
import type { Store, StoredSigningKey } from '../store/store.js';
import { publicJwkOf, thumbprint } from './did-key.js';
import { type KeyWrapper, SigningKeyUnwrapError } from './key-wrap.js';
import type { KeyringState } from './keyring-state.js';

/** The wrapping format this code writes and reads. */
export const WRAP_VERSION = 1;

/** What a wrapped private key (or a seal) is bound to. */
function aad(
  purpose: 'key' | 'seal',
  row: Pick<StoredSigningKey, 'kid' | 'x' | 'version'>,
): Buffer {
  return Buffer.from(`bastion signing ${purpose}\0v${row.version}\0${row.kid}\0${row.x}`);
}

function toText(wrapped: Buffer): string {
  return WRAPPED_PREFIX + wrapped.toString('base64url');
}

function fromText(text: string | undefined): Buffer {
  if (text === undefined || !text.startsWith(WRAPPED_PREFIX)) throw new SigningKeyUnwrapError();
  return Buffer.from(text.slice(WRAPPED_PREFIX.length), 'base64url');
}

/** The database keyring, every row checked; undefined when there is no key yet. */
export async function readDbKeyring(
  store: Store,
  wrapper: KeyWrapper,
): Promise<{ state: KeyringState; active: StoredSigningKey } | undefined> {
  const rows = await store.listSigningKeys();
  if (rows.length === 0) return undefined;
  const active = rows.filter((row) => row.retired_at === undefined);
  if (active.length !== 1 || active[0] === undefined) {
    throw new ConfigError('signing_keys', 'the database keyring has no active key');
  }
  const state: KeyringState = { active: active[0].kid, keys: {} };
  for (const row of rows) {
    await checkSeal(row, wrapper);
    state.keys[row.kid] = {
      x: row.x,
      created_at: row.created_at,
      ...(row.retired_at === undefined ? {} : { retired_at: row.retired_at }),
    };
  }
  return { state, active: active[0] };
}

async function checkSeal(row: StoredSigningKey, wrapper: KeyWrapper): Promise<void> {
  if (row.version !== WRAP_VERSION) throw new SigningKeyUnwrapError();
  (await wrapper.unwrap(fromText(row.seal), aad('seal', row))).dispose();
  const kid = await thumbprint({ kty: 'OKP', crv: 'Ed25519', x: row.x });
  if (kid !== row.kid) throw new SigningKeyUnwrapError();
}

/** The active key's signer: unwrapped, checked against its public half. */
export async function loadDbSigner(row: StoredSigningKey, wrapper: KeyWrapper): Promise<AcSigner> {
  if (row.version !== WRAP_VERSION) throw new SigningKeyUnwrapError();
  const der = await wrapper.unwrap(fromText(row.wrapped), aad('key', row));
  let privateKey: KeyObject;
  try {
    privateKey = der.use((bytes) => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }));
  } catch {
    throw new SigningKeyUnwrapError();
  } finally {
    der.dispose();
  }
  if (privateKey.asymmetricKeyType !== 'ed25519' || publicJwkOf(privateKey).x !== row.x) {
    throw new SigningKeyUnwrapError();
  }
  return { kid: row.kid, privateKey };
}

/**
 * Makes a new key, wraps it and stores it as the active key, retiring `retiring` (the
 * active key the caller saw; undefined for the first key). False when another replica
 * changed the active key first: nothing was stored.
 */
export async function addDbKey(
  store: Store,
  wrapper: KeyWrapper,
  retiring: string | undefined,
  now: number,
): Promise<boolean> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const x = publicJwkOf(privateKey).x ?? '';
  const row = {
    kid: await thumbprint({ kty: 'OKP', crv: 'Ed25519', x }),
    x,
    version: WRAP_VERSION,
  };
  const der = Secret.adopt(privateKey.export({ format: 'der', type: 'pkcs8' }));
  const empty = Secret.adopt(Buffer.alloc(0));
  let wrapped: Buffer;
  let seal: Buffer;
  try {
    wrapped = await wrapper.wrap(der, aad('key', row));
    seal = await wrapper.wrap(empty, aad('seal', row));
  } catch (err) {
    throw err instanceof BastionError ? err : new SigningKeyUnwrapError();
  } finally {
    der.dispose();
  }
  return store.insertSigningKey(
    { ...row, created_at: now, wrapped: toText(wrapped), seal: toText(seal) },
    retiring,
    now,
  );
}
