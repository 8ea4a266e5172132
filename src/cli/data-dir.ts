/** The data directory an offline command (keys, audit) works on: --data-dir, or the config's. */
import { resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { InvalidArgumentError } from '../base/errors.js';

/** The options of every offline command that works on a data directory. */
export const DATA_DIR_OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
} as const;

export function dataDirOf(dataDir: string | undefined, config: string | undefined): string {
  if (dataDir !== undefined) return resolve(dataDir);
  if (config !== undefined) return loadConfig(config).data_dir;
  throw new InvalidArgumentError('--data-dir or --config (one is required)');
}
