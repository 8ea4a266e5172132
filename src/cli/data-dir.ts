/** The data directory an offline command (keys, audit) works on: --data-dir, or the config's. */
import { resolve } from 'node:path';
import { type BastionConfig, loadConfig } from '../config/config.js';
import { InvalidArgumentError } from '../base/errors.js';

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
