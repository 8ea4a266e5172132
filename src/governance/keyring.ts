/**
 * The broker's AC signing keys, in one of two homes:
 * - files (keyring-files.ts), in `<data_dir>/keys/`: one broker's own keys;
 * - the database (keyring-db.ts), each active private key wrapped under a key-encryption
 *   key the database never holds: one identity every replica shares, rotation announced
 *   on the store's KEYS_CHANNEL and followed by every replica without a restart.
 * Rotation makes a new active key, deletes the old private key and keeps its public half in
 * the JWKS until every AC it signed has expired (the store records each key's latest `exp`).
 * The kid is the key's RFC 7638 thumbprint.
 */
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { ConfigError, InternalError } from '../base/errors.js';
import type { AcSigner } from '../base/signer.js';
import { KEYS_CHANNEL, type Store } from '../store/store.js';
import type { KeyWrapper } from './key-wrap.js';
import { addDbKey, loadDbSigner, readDbKeyring } from './keyring-db.js';
import { KEYRING, addFileKey, loadFileSigner, readKeyring } from './keyring-files.js';
import { type KeyringState, newlyRetired, publicKeysOf } from './keyring-state.js';

export interface PublicJwks {
  keys: JWK[];
}

/** Where the keys are: a keys directory, or a store with the wrapper of its KEK. */
type Home =
  | { readonly kind: 'files'; readonly dir: string }
  | { readonly kind: 'database'; readonly store: Store; readonly wrapper: KeyWrapper };

/** What changed at a reload: the active kid, and the kids retired since the last one. */
export interface KeyringChange {
  readonly active: string;
  readonly retired: readonly string[];
}

export class BrokerKeyring {
  readonly #home: Home;
  #state: KeyringState;
  #signer: AcSigner;
  #publicKeys: Map<string, KeyObject>;
  readonly #listeners = new Set<(change: KeyringChange) => void>();
  #refreshing: Promise<void> = Promise.resolve();

  private constructor(home: Home, state: KeyringState, signer: AcSigner) {
    this.#home = home;
    this.#state = state;
    this.#signer = signer;
    this.#publicKeys = publicKeysOf(state);
  }

  /** Opens the keyring in `<dataDir>/keys`, generating the first key if there is none. */
  static async open(dataDir: string, now: number = Date.now()): Promise<BrokerKeyring> {
    const dir = join(dataDir, 'keys');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    if (!existsSync(join(dir, KEYRING))) await addFileKey(dir, undefined, now);
    const state = readKeyring(dir);
    return new BrokerKeyring({ kind: 'files', dir }, state, loadFileSigner(dir, state));
  }

  /**
   * Opens the keyring in `store`, generating the first key if there is none (when two
   * replicas start at once, one key is made). Throws SigningKeyUnwrapError for a wrong KEK.
   */
  static async openDatabase(
    store: Store,
    wrapper: KeyWrapper,
    now: number = Date.now(),
  ): Promise<BrokerKeyring> {
    let found = await readDbKeyring(store, wrapper);
    if (found === undefined) {
      await addDbKey(store, wrapper, undefined, now);
      found = await readDbKeyring(store, wrapper);
    }
    if (found === undefined) throw new InternalError();
    const signer = await loadDbSigner(found.active, wrapper);
    return new BrokerKeyring({ kind: 'database', store, wrapper }, found.state, signer);
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
    const active = await addFileKey(dir, before, now);
    rmSync(join(dir, `${before.active}.pem`), { force: true });
    return { retired: before.active, active };
  }

  /**
   * Rotates this keyring in its home, then reloads it: in the database every replica
   * following it hears. When another replica rotated at the same moment, its key is the
   * one made active (one active key either way), and is returned.
   */
  async rotateKeys(now: number = Date.now()): Promise<{ retired: string; active: string }> {
    const home = this.#home;
    if (home.kind === 'files') {
      const result = await BrokerKeyring.rotate(join(home.dir, '..'), now);
      this.reload();
      return result;
    }
    const retired = this.#state.active;
    await addDbKey(home.store, home.wrapper, retired, now);
    await this.refresh();
    return { retired, active: this.#state.active };
  }

  /** Re-reads a files keyring after an out-of-process rotation (`bastion keys rotate`). */
  reload(): void {
    if (this.#home.kind !== 'files') throw new InternalError();
    const state = readKeyring(this.#home.dir);
    const signer =
      state.active === this.#state.active ? this.#signer : loadFileSigner(this.#home.dir, state);
    this.#apply(state, signer);
  }

  /** Re-reads the keyring from its home, whichever it is; one refresh at a time. */
  refresh(): Promise<void> {
    const next = this.#refreshing.then(async () => {
      const home = this.#home;
      if (home.kind === 'files') return this.reload();
      const found = await readDbKeyring(home.store, home.wrapper);
      if (found === undefined) throw new ConfigError('signing_keys', 'the keyring is gone');
      const signer =
        found.state.active === this.#state.active
          ? this.#signer
          : await loadDbSigner(found.active, home.wrapper);
      this.#apply(found.state, signer);
    });
    this.#refreshing = next.catch(() => undefined);
    return next;
  }

  /**
   * Refreshes at each rotation announced on the store (and when its notifications
   * reconnect, as some may have been lost). `onError` hears a refresh that failed: the
   * keyring then keeps its keys. Returns the unsubscribe.
   */
  follow(onError: (err: unknown) => void): Promise<() => Promise<void>> {
    const home = this.#home;
    if (home.kind !== 'database') return Promise.resolve(() => Promise.resolve());
    return home.store.subscribe(KEYS_CHANNEL, () => {
      this.refresh().catch(onError);
    });
  }

  /** Calls `fn` after each reload that changed the keyring; returns the unsubscribe. */
  onChange(fn: (change: KeyringChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #apply(state: KeyringState, signer: AcSigner): void {
    const change = { active: state.active, retired: newlyRetired(this.#state, state) };
    const changed = state.active !== this.#state.active || change.retired.length > 0;
    this.#signer = signer;
    this.#state = state;
    this.#publicKeys = publicKeysOf(state);
    if (changed) for (const fn of this.#listeners) fn(change);
  }

  /** Every public key the keyring has ever held, retired ones included (for audit checkpoints). */
  allPublicKeys(): ReadonlyMap<string, KeyObject> {
    return this.#publicKeys;
  }

  /** The same, read from a data directory without loading any private key. */
  static publicKeysIn(dataDir: string): ReadonlyMap<string, KeyObject> {
    return publicKeysOf(readKeyring(join(dataDir, 'keys')));
  }

  /** The same from the database (each key's seal checked with `wrapper`), no private key unwrapped. */
  static async publicKeysInDatabase(
    store: Store,
    wrapper: KeyWrapper,
  ): Promise<ReadonlyMap<string, KeyObject>> {
    const found = await readDbKeyring(store, wrapper);
    return found === undefined ? new Map() : publicKeysOf(found.state);
  }

  /** Where the keys live. */
  get home(): 'files' | 'database' {
    return this.#home.kind;
  }

  get signer(): AcSigner {
    return this.#signer;
  }

  get activeKid(): string {
    return this.#state.active;
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
      const entry = this.#state.keys[kid];
      if (kid !== this.#state.active && entry?.retired_at !== undefined) {
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
        x: this.#state.keys[kid]?.x ?? '',
        kid,
        alg: 'EdDSA',
        use: 'sig',
      })),
    };
  }
}
