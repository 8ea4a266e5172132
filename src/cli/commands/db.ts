/**
 * `bastion db migrate | check (--data-dir DIR | --config FILE) [--json]`: the store's
 * schema, for an operator who upgrades replicas one by one or runs migrations as a
 * deployment step. `migrate` applies what is pending (idempotent: the store migrates under
 * a lock at open) and exits; `check` connects without migrating and says the schema
 * version, what is pending and the audit head: exit 1 when the schema is behind, and the
 * usual configuration or unavailability error when it cannot connect.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import { loadConfig } from '../../config/config.js';
import { readStore } from '../../config/store.js';
import { type DbStatus, databaseStatus } from '../../store/db-status.js';
import type { StoreSettings } from '../../store/open.js';
import { output, parseCommandArgs } from '../args.js';
import { dataDirOf, openStoreOf } from '../data-dir.js';
import { FLAGS } from '../flags.js';

export async function runDb(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'migrate' && sub !== 'check') {
    throw new InvalidArgumentError('db subcommand (use: bastion db migrate | check)');
  }
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args: rest,
      options: FLAGS[`db ${sub}`],
      strict: true,
    }),
  );
  const config = values.config !== undefined ? loadConfig(values.config) : undefined;
  const dataDir = dataDirOf(values['data-dir'], config);
  const settings: StoreSettings = config?.store ?? readStore(undefined, process.env, []);
  const json = values.json === true;
  if (sub === 'migrate') {
    // Undefined for a SQLite file not made yet (an unreachable server fails just below).
    const before = await databaseStatus(settings, dataDir).catch(() => undefined);
    // Opening migrates (SQLite: creating the file in the data directory if need be).
    await (await openStoreOf(dataDir, config, { mustExist: false })).close();
    const after = await databaseStatus(settings, dataDir);
    // null: a new database, given every migration.
    const applied = before?.pending ?? null;
    output(json, { ...after, applied }, () => [
      `store          ${after.store}`,
      `schema         version ${after.schema_version}` +
        (applied === null
          ? ' (a new database)'
          : applied.length > 0
            ? ` (applied ${applied.join(', ')})`
            : ' (nothing to apply)'),
    ]);
    return 0;
  }
  const status = await databaseStatus(settings, dataDir);
  output(json, status, () => lines(status));
  return status.pending.length > 0 ? 1 : 0;
}

function lines(status: DbStatus): string[] {
  return [
    `store          ${status.store}`,
    `schema         version ${status.schema_version} of ${status.latest_version}` +
      (status.pending.length > 0
        ? `: behind, run \`bastion db migrate\` (pending ${status.pending.join(', ')})`
        : ' (up to date)'),
    `audit head     ${status.audit_head === null ? 'none (empty trail)' : `seq ${status.audit_head.seq}`}`,
  ];
}
