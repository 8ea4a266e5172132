/**
 * The broker's AC signing keys, in `<data_dir>/keys/` (never in the database):
 * - `<kid>.pem`: the active Ed25519 private key, PKCS#8, mode 0600 (generated on first start);
 * - `keyring.json`: every key's public half, with when it was created and retired.
 * Rotation makes a new active key, deletes the old private key and keeps its public half in
 * the JWKS until every AC it signed has expired (the store records each key's latest `exp`).
 * The kid is the key's RFC 7638 thumbprint.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { ConfigError } from '../base/errors.js';
import type { Store } from '../store/store.js';
import type { AcSigner } from '../base/signer.js';
import { publicJwkOf, thumbprint } from './did-key.js';

interface KeyEntry {
  x: string;
  created_at: number;
  retired_at?: number;
}

interface KeyringFile {
  version: 1;
  active: string;
  keys: Record<string, KeyEntry>;
}

const KEYRING = 'keyring.json';

export interface PublicJwks {
  keys: JWK[];
}

export class BrokerKeyring {
  readonly #dir: string;
  #file: KeyringFile;
  #signer: AcSigner;
  #publicKeys: Map<string, KeyObject>;

  private constructor(dir: string, file: KeyringFile, signer: AcSigner) {
    this.#dir = dir;
    this.#file = file;
    this.#signer = signer;
    this.#publicKeys = publicKeysOf(file);
  }

  /** Opens the keyring in `<dataDir>/keys`, generating the first key if there is none. */
  static async open(dataDir: string, now: number = Date.now()): Promise<BrokerKeyring> {
    const dir = join(dataDir, 'keys');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    if (!existsSync(join(dir, KEYRING))) await BrokerKeyring.#addKey(dir, undefined, now);
    const file = readKeyring(dir);
    return new BrokerKeyring(dir, file, loadSigner(dir, file.active, activeX(file)));
  }

  /**
   * Makes a new active key and retires the current one (its private key is deleted; its
   * public key stays in the JWKS while ACs it signed are unexpired). Returns both kids.
   */
  static async rotate(
    dataDir: string,
    now: number = Date.now(),
  ): Promise<{ retired: string; active: string }> {
    const dir = join(dataDir, 'keys');
    if (!existsSync(join(dir, KEYRING)))
      throw new ConfigError(dir, 'no keyring to rotate (start the server once)');
    const before = readKeyring(dir);
    const active = await BrokerKeyring.#addKey(dir, before, now);
    rmSync(join(dir, `${before.active}.pem`), { force: true });
    return { retired: before.active, active };
  }

  static async #addKey(
    dir: string,
    current: KeyringFile | undefined,
    now: number,
  ): Promise<string> {
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwk = publicJwkOf(privateKey);
    const kid = await thumbprint(jwk);
    writeFileSync(join(dir, `${kid}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
      flag: 'wx',
    });
    const keys: Record<string, KeyEntry> = { ...(current?.keys ?? {}) };
    const previous = current !== undefined ? keys[current.active] : undefined;
    if (current !== undefined && previous !== undefined)
      keys[current.active] = { ...previous, retired_at: now };
    keys[kid] = { x: jwk.x ?? '', created_at: now };
    // Write-then-rename so a crash never leaves a half-written keyring.
    const tmp = join(dir, `${KEYRING}.tmp`);
    writeFileSync(
      tmp,
      JSON.stringify({ version: 1, active: kid, keys } satisfies KeyringFile, null, 2),
      {
        mode: 0o600,
      },
    );
    renameSync(tmp, join(dir, KEYRING));
    return kid;
  }

  /** Re-reads the keyring after an out-of-process rotation (`bastion keys rotate`). */
  reload(): void {
    const file = readKeyring(this.#dir);
    if (file.active !== this.#file.active)
      this.#signer = loadSigner(this.#dir, file.active, activeX(file));
    this.#file = file;
    this.#publicKeys = publicKeysOf(file);
  }

  /** Every public key the keyring has ever held, retired ones included (for audit checkpoints). */
  allPublicKeys(): ReadonlyMap<string, KeyObject> {
    return this.#publicKeys;
  }

  /** The same, read from a data directory without loading any private key. */
  static publicKeysIn(dataDir: string): ReadonlyMap<string, KeyObject> {
    return publicKeysOf(readKeyring(join(dataDir, 'keys')));
  }

  get signer(): AcSigner {
    return this.#signer;
  }

  get activeKid(): string {
    return this.#file.active;
  }

  /**
   * Verification keys: the active key and each retired key while an AC it signed may be
   * unexpired (latest exp + skew still ahead).
   */
  async verificationKeys(
    store: Store,
    now: number,
    skewMs: number,
  ): Promise<Map<string, KeyObject>> {
    const keys = new Map<string, KeyObject>();
    for (const [kid, key] of this.#publicKeys) {
      const entry = this.#file.keys[kid];
      if (kid !== this.#file.active && entry?.retired_at !== undefined) {
        const lastExp = await store.keyLastExpiry(kid);
        if (lastExp === undefined || lastExp * 1000 + skewMs <= now) continue;
      }
      keys.set(kid, key);
    }
    return keys;
  }

  async jwks(store: Store, now: number, skewMs: number): Promise<PublicJwks> {
    const keys = await this.verificationKeys(store, now, skewMs);
    return {
      keys: [...keys.keys()].map((kid) => ({
        kty: 'OKP',
        crv: 'Ed25519',
        x: this.#file.keys[kid]?.x ?? '',
        kid,
        alg: 'EdDSA',
        use: 'sig',
      })),
    };
  }
}

function readKeyring(dir: string): KeyringFile {
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
  return file as KeyringFile;
}

function loadSigner(dir: string, kid: string, expectedX: string): AcSigner {
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
    if (publicJwkOf(privateKey).x !== expectedX)
      throw new ConfigError(path, 'key does not match the keyring');
    return { kid, privateKey };
  } finally {
    pem.fill(0);
  }
}

function activeX(file: KeyringFile): string {
  return file.keys[file.active]?.x ?? '';
}

function publicKeysOf(file: KeyringFile): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const [kid, entry] of Object.entries(file.keys)) {
    keys.set(
      kid,
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: entry.x }, format: 'jwk' }),
    );
  }
  return keys;
}
