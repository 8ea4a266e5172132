/**
 * What several replicas must share, chosen from the configuration and the store: where
 * the AC signing keys live, and who counts a principal's requests. One small function each,
 * so `startServer` says which without knowing why.
 *
 * Signing keys: in the database on PostgreSQL (every replica signs and verifies with one
 * identity, and a rotation reaches all of them), in `<data_dir>/keys/` on SQLite (one
 * broker owns a SQLite trail; the files need no KEK); `signing_keys` overrides either way.
 * Rate limit: in the store on PostgreSQL; in memory on SQLite, where there is no other
 * replica to share with and a hit must not cost a write on the writer thread.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { BastionConfig } from '../config/config.js';
import { KEK_ENV, type LocalKek, loadLocalKek } from '../governance/key-wrap.js';
import { BrokerKeyring } from '../governance/keyring.js';
import { PostgresStore } from '../store/postgres.js';
import type { Store } from '../store/store.js';
import type { Closable } from './plugins.js';
import { type PrincipalLimiter, RateLimiter, StoreRateLimiter } from './rate-limit.js';

type KeysConfig = Pick<BastionConfig, 'data_dir' | 'signing_keys' | 'key_encryption_key_file'>;

/** Whether the store is one several replicas share. */
function shared(store: Store): boolean {
  return store instanceof PostgresStore;
}

/**
 * The keyring in its configured home. A database keyring's KEK stays in a Secret until
 * `owned` is closed (it unwraps each rotation's new key).
 */
export async function openKeyring(
  config: KeysConfig,
  store: Store,
  options: { env: NodeJS.ProcessEnv; now: number; owned: Closable[] },
): Promise<BrokerKeyring> {
  const kek = databaseKek(config, store, options.env);
  if (kek === undefined) return BrokerKeyring.open(config.data_dir, options.now);
  options.owned.push({ close: () => Promise.resolve(kek.dispose()) });
  return BrokerKeyring.openDatabase(store, kek, options.now);
}

/**
 * Every public key the keyring has held, from its configured home, loading no private key
 * (`bastion audit verify`). In the database, the seals are checked with the KEK.
 */
export async function publicKeysFor(
  config: KeysConfig,
  store: Store,
  env: NodeJS.ProcessEnv,
): Promise<ReadonlyMap<string, KeyObject>> {
  const kek = databaseKek(config, store, env);
  if (kek === undefined) return BrokerKeyring.publicKeysIn(config.data_dir);
  try {
    return await BrokerKeyring.publicKeysInDatabase(store, kek);
  } finally {
    kek.dispose();
  }
}

/** The KEK when the keys are in the database; undefined when they are in files. */
function databaseKek(
  config: KeysConfig,
  store: Store,
  env: NodeJS.ProcessEnv,
): LocalKek | undefined {
  const home = config.signing_keys ?? (shared(store) ? 'database' : 'files');
  if (home === 'files') return undefined;
  const kek = loadLocalKek(config.key_encryption_key_file, env);
  if (kek === undefined) {
    throw new ConfigError(
      'signing_keys',
      `keys in the database need a key-encryption key: key_encryption_key_file or $${KEK_ENV}`,
    );
  }
  return kek;
}

/** The per-principal rate limiter: the store's when replicas share it, else in memory. */
export function principalLimiter(
  config: { readonly limits: Pick<BastionConfig['limits'], 'rate_per_minute'> },
  store: Store,
  clock: Clock,
): PrincipalLimiter {
  const perMinute = config.limits.rate_per_minute;
  return shared(store)
    ? new StoreRateLimiter(perMinute, clock, store)
    : new RateLimiter(perMinute, clock);
}
