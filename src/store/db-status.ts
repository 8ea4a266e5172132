/**
 * What `bastion db check` reports, read without migrating anything: the schema version the
 * database is at, the versions this Bastion would apply, and the audit head. Opening a
 * store migrates it; this must not, or a check would never see a pending migration.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../base/errors.js';
import { MIGRATIONS, type Migration, pendingVersions } from './migrations.js';
import { type StoreSettings, SQLITE_FILE } from './open.js';
import { newPool, withConnection } from './postgres-open.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';

export interface DbStatus {
  readonly store: 'sqlite' | 'postgres';
  /** The latest migration applied; 0 for an empty database. */
  readonly schema_version: number;
  /** The latest this Bastion knows. */
  readonly latest_version: number;
  /** Versions `bastion db migrate` (or the next start) would apply. */
  readonly pending: number[];
  readonly audit_head: { seq: number; hash: string } | null;
}

type Row = Record<string, unknown>;
type Reader = (sql: string) => Promise<Row[]>;

const HAS_TABLE = {
  sqlite: (name: string) => `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${name}'`,
  postgres: (name: string) => `SELECT 1 FROM pg_tables WHERE tablename = '${name}'`,
} as const;

/** Reads the status; throws ConfigError or StoreUnavailableError when it cannot connect. */
export async function databaseStatus(settings: StoreSettings, dataDir: string): Promise<DbStatus> {
  if (settings.kind === 'postgres') {
    const pool = newPool({ ...settings, maxConnections: 1 });
    try {
      return await withConnection(pool, (client) =>
        status('postgres', PG_MIGRATIONS, async (sql) => (await client.query<Row>(sql)).rows),
      );
    } finally {
      await pool.end().catch(() => undefined);
    }
  }
  const file = join(dataDir, SQLITE_FILE);
  if (!existsSync(file)) throw new ConfigError(file, 'no database here');
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    throw new ConfigError(file, 'cannot be opened as a database');
  }
  try {
    return await status('sqlite', MIGRATIONS, (sql) =>
      Promise.resolve(db.prepare(sql).all() as Row[]),
    );
  } finally {
    db.close();
  }
}

async function status(
  store: 'sqlite' | 'postgres',
  migrations: readonly Migration[],
  read: Reader,
): Promise<DbStatus> {
  const has = async (table: string) => (await read(HAS_TABLE[store](table))).length > 0;
  const applied = (await has('schema_migrations'))
    ? (await read('SELECT version FROM schema_migrations ORDER BY version')).map((r) =>
        Number(r['version']),
      )
    : [];
  // Throws ConfigError for a database a newer Bastion wrote.
  const { from, to } = pendingVersions(applied, migrations);
  const head = (await has('audit'))
    ? (await read('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'))[0]
    : undefined;
  return {
    store,
    schema_version: from,
    latest_version: to,
    pending: migrations.map((m) => m.version).filter((v) => !applied.includes(v)),
    audit_head:
      head === undefined ? null : { seq: Number(head['seq']), hash: String(head['hash']) },
  };
}
