/**
 * `bastion keys rotate --data-dir DIR | --config FILE`: a new AC signing key. With keys
 * in files, a running server picks it up on SIGHUP or restart; with keys in the database
 * (`signing_keys: database`), every replica on a PostgreSQL store follows at once (NOTIFY),
 * a server on SQLite on SIGHUP. The old public key stays in the JWKS until every AC it
 * signed has expired.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import { type BastionConfig, loadConfig } from '../../config/config.js';
import { BrokerKeyring } from '../../governance/keyring.js';
import { openKeyring } from '../../server/shared-state.js';
import { closeAll, type Closable } from '../../server/plugins.js';
import { silentLogger } from '../../base/logger.js';
import { SqliteStore } from '../../store/sqlite.js';
import { output, parseCommandArgs } from '../args.js';
import { dataDirOf } from '../data-dir.js';
import { FLAGS } from '../flags.js';

export async function runKeys(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'rotate')
    throw new InvalidArgumentError('keys subcommand (use: bastion keys rotate)');
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args: rest,
      options: FLAGS['keys rotate'],
      strict: true,
    }),
  );
  const config = values.config === undefined ? undefined : loadConfig(values.config);
  const dataDir = dataDirOf(values['data-dir'], config);
  const inDatabase = config?.signing_keys === 'database';
  const result = inDatabase
    ? await rotateInDatabase({ ...config, data_dir: dataDir })
    : await BrokerKeyring.rotate(dataDir);
  output(values.json === true, result, () => [
    `active key  ${result.active}`,
    `retired key ${result.retired} (stays in the JWKS until the ACs it signed expire)`,
    inDatabase
      ? 'Replicas on PostgreSQL sign with it now; send SIGHUP to a `bastion serve` on SQLite.'
      : 'Send SIGHUP to a running `bastion serve` (or restart it) to start signing with the new key.',
  ]);
  return 0;
}

/**
 * Rotates the keys in the configuration's store, with its KEK (opening the keyring first
 * checks the KEK against the stored keys, before anything is written).
 */
async function rotateInDatabase(
  config: BastionConfig,
): Promise<{ retired: string; active: string }> {
  // The store the configuration names: SQLite in the data directory until the store
  // setting lands (issue #14); a PostgreSQL opener goes here.
  const store = SqliteStore.open({ dataDir: config.data_dir });
  const owned: Closable[] = [];
  try {
    const keyring = await openKeyring(config, store, { env: process.env, now: Date.now(), owned });
    return await keyring.rotateKeys();
  } finally {
    await closeAll(owned, silentLogger);
    await store.close();
  }
}
