/**
 * The signing keys' home on disk (`signing_keys: files`, the default on SQLite), in
 * `<data_dir>/keys/`: `<kid>.pem`, the active Ed25519 private key (PKCS#8, mode 0600), and
 * `keyring.json`, every key's public half with when it was created and retired.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../base/errors.js';
import type { AcSigner } from '../base/signer.js';
import { publicJwkOf, thumbprint } from './did-key.js';
import { type KeyringState, withNewKey } from './keyring-state.js';

export const KEYRING = 'keyring.json';

interface KeyringFile extends KeyringState {
  version: 1;
}

/** Writes a new private key and makes it the active key in the keyring file; its kid. */
export async function addFileKey(
  dir: string,
  current: KeyringState | undefined,
  now: number,
): Promise<string> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicJwkOf(privateKey);
  const kid = await thumbprint(jwk);
  writeFileSync(join(dir, `${kid}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }), {
    mode: 0o600,
    flag: 'wx',
  });
  const next = withNewKey(current, kid, jwk.x ?? '', now);
  // Write-then-rename so a crash never leaves a half-written keyring.
  const tmp = join(dir, `${KEYRING}.tmp`);
  writeFileSync(tmp, JSON.stringify({ version: 1, ...next } satisfies KeyringFile, null, 2), {
    mode: 0o600,
  });
  renameSync(tmp, join(dir, KEYRING));
  return kid;
}

export function readKeyring(dir: string): KeyringState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dir, KEYRING), 'utf8'));
  } catch {
    throw new ConfigError(join(dir, KEYRING), 'unreadable keyring');
  }
  const file = parsed as Partial<KeyringFile>;
  if (
    file.version !== 1 ||
    typeof file.active !== 'string' ||
    typeof file.keys !== 'object' ||
    file.keys === null
  ) {
    throw new ConfigError(join(dir, KEYRING), 'unknown keyring format');
  }
  if (file.keys[file.active] === undefined)
    throw new ConfigError(join(dir, KEYRING), 'active key not listed');
  return { active: file.active, keys: file.keys };
}

export function loadFileSigner(dir: string, state: KeyringState): AcSigner {
  const kid = state.active;
  const path = join(dir, `${kid}.pem`);
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch {
    throw new ConfigError(path, 'the active signing key is missing');
  }
  try {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new ConfigError(path, 'not an Ed25519 key');
    if (publicJwkOf(privateKey).x !== state.keys[kid]?.x)
      throw new ConfigError(path, 'key does not match the keyring');
    return { kid, privateKey };
  } finally {
    pem.fill(0);
  }
}
