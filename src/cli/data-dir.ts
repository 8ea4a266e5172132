/** The data directory an offline command (keys, audit) works on: --data-dir, or the config's. */
import { resolve } from 'node:path';
import { type BastionConfig, loadConfig } from '../config/config.js';
import { InvalidArgumentError } from '../base/errors.js';
import { readStore } from '../config/store.js';
import { type OpenStoreOptions, openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

/** The options of every offline command that works on a data directory. */
export const DATA_DIR_OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
} as const;

/** `config` is the --config file, or the configuration a command already loaded from it. */
export function dataDirOf(
  dataDir: string | undefined,
  config: string | BastionConfig | undefined,
): string {
  if (dataDir !== undefined) return resolve(dataDir);
  if (typeof config === 'string') return loadConfig(config).data_dir;
  if (config !== undefined) return config.data_dir;
  throw new InvalidArgumentError('--data-dir or --config (one is required)');
}

/**
 * The store an offline command reads: the configuration's, else $BASTION_DATABASE_URL's,
 * else the SQLite file in `dataDir`, which must exist (a mistyped path is not a new store).
 */
export function openStoreOf(
  dataDir: string,
  config: BastionConfig | undefined,
  options: OpenStoreOptions = { mustExist: true },
): Promise<Store> {
  const settings = config?.store ?? readStore(undefined, process.env, []);
  return openStore(settings, dataDir, options);
}

/** A store several replicas share chains the audit itself: no broker keeps a sink. */
export function isShared(store: Store): boolean {
  return store.appendAuditChained !== undefined;
}
