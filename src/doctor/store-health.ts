/**
 * The store: reachable, and its schema current — `bastion db check`'s reading
 * (`databaseStatus`), which connects without migrating. Only a current schema is opened
 * afterwards for the audit checks: opening a store migrates it, and a doctor changes nothing.
 */
import { BastionError } from '../base/errors.js';
import { type DbStatus, databaseStatus } from '../store/db-status.js';
import type { StoreSettings } from '../store/open.js';
import { type CheckResult, result } from './check.js';

export interface StoreHealth {
  readonly results: CheckResult[];
  /** Set when the store answered and needs no migration: safe to open. */
  readonly status?: DbStatus | undefined;
}

/** Bastion's own errors carry fixed text; anything else is said as unknown. */
export function reasonOf(err: unknown): string {
  return err instanceof BastionError ? `${err.code}: ${err.message}` : 'an unexpected error';
}

export async function checkStore(settings: StoreSettings, dataDir: string): Promise<StoreHealth> {
  let status: DbStatus;
  try {
    status = await databaseStatus(settings, dataDir);
  } catch (err) {
    return {
      results: [
        result(
          'store',
          'reachable',
          'fail',
          `${settings.kind} store: cannot be read (${reasonOf(err)})`,
        ),
        result('store', 'schema', 'skipped', 'schema: not checked (the store did not answer)'),
      ],
    };
  }
  const reachable = result('store', 'reachable', 'ok', `${status.store} store: answers`);
  if (status.pending.length > 0) {
    return {
      results: [
        reachable,
        result(
          'store',
          'schema',
          'fail',
          `schema version ${status.schema_version} of ${status.latest_version}: behind, run \`bastion db migrate\` (pending ${status.pending.join(', ')})`,
        ),
      ],
    };
  }
  return {
    results: [
      reachable,
      result('store', 'schema', 'ok', `schema version ${status.schema_version}: up to date`),
    ],
    status,
  };
}
