/**
 * Opening the PostgreSQL store: the pool (connection string, TLS settings passed through to
 * the driver as values: no certificate or key file is written by Bastion), integer columns
 * read back as numbers, and the migrations run once under an advisory lock. A refused
 * login, a missing database or a bad option is a configuration error; a server that cannot
 * be reached is unavailable. Neither message quotes the URL (it may hold a password).
 */
import type { ConnectionOptions } from 'node:tls';
import { Pool, type PoolClient, TypeOverrides, types } from 'pg';
import { BastionError, ConfigError } from '../base/errors.js';
import type { Secret } from '../credentials/secret.js';
import { applyPgMigrations } from './postgres-migrations.js';
import { mapPgError } from './postgres-errors.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db?…`; never logged or echoed. */
  readonly url: string;
  /**
   * The login's password, kept out of the URL (open.ts takes it out): pg asks for it at
   * each new connection, so no option, URL or error of the pool holds it. Not with a URL
   * that has one.
   */
  readonly password?: Secret | undefined;
  /**
   * TLS to the server, as node:tls options (`ca`, `cert`, `key` as PEM text, `servername`,
   * `rejectUnauthorized`), or true for the system's trust store. Default: as the URL says
   * (`sslmode=…`); not both.
   */
  readonly ssl?: boolean | ConnectionOptions | undefined;
  /** Connections in the pool; default 10. */
  readonly maxConnections?: number | undefined;
  /** How long a call waits for a connection; default 5000 ms. */
  readonly connectTimeoutMs?: number | undefined;
  /** Server-side limit on one statement (including a wait for a lock); default 30000 ms. */
  readonly statementTimeoutMs?: number | undefined;
}

const WHERE = 'store';
const INT8_OID = 20;

/** BIGINT columns hold epoch ms and seqs, all safe integers when written: read them as numbers. */
function typeParsers(): TypeOverrides {
  const overrides = new TypeOverrides(types);
  overrides.setTypeParser(INT8_OID, (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new RangeError('a stored integer is out of range');
    return n;
  });
  return overrides;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(WHERE, `${name} must be a positive integer`);
  }
  return n;
}

/** A pool on these settings (nothing connected yet); refuses a bad option. */
export function newPool(options: PostgresStoreOptions): Pool {
  if (typeof options?.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new ConfigError(WHERE, 'the PostgreSQL URL must start with postgres://');
  }
  // pg lets the URL's TLS parameters replace `ssl` whole (a `ca` given here would be
  // dropped): one place only, so what is configured is what is used.
  if (options.ssl !== undefined && /[?&]ssl/i.test(options.url)) {
    throw new ConfigError(WHERE, 'give TLS settings in the URL or in ssl, not both');
  }
  const { password } = options;
  if (password !== undefined && urlHasPassword(options.url)) {
    throw new ConfigError(WHERE, 'give the password in the URL or apart from it, not both');
  }
  const pool = new Pool({
    connectionString: options.url,
    // pg needs a string for the wire; it is made when the server asks, never kept here.
    ...(password === undefined ? {} : { password: () => password.use((b) => b.toString()) }),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    max: positiveInt(options.maxConnections, 10, 'maxConnections'),
    connectionTimeoutMillis: positiveInt(options.connectTimeoutMs, 5000, 'connectTimeoutMs'),
    statement_timeout: positiveInt(options.statementTimeoutMs, 30_000, 'statementTimeoutMs'),
    types: typeParsers(),
    application_name: 'bastion',
  });
  // An idle connection that fails (a server restart) is dropped by the pool; without a
  // listener its error would end the process. The next call gets a fresh connection.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` on one connection of `pool`; on failure ends the pool and maps the error. */
export async function withConnection<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  try {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    const mapped = mapPgError(err);
    // Anything else failing here (TLS, a malformed URL) is the configuration's fault.
    throw mapped instanceof BastionError
      ? mapped
      : new ConfigError(WHERE, 'cannot connect to PostgreSQL with these settings');
  }
}

/** A migrated pool, or a ConfigError / StoreUnavailableError (the pool then closed). */
export async function openPool(options: PostgresStoreOptions): Promise<Pool> {
  const pool = newPool(options);
  await withConnection(pool, (client) => applyPgMigrations(client));
  return pool;
}

/** Whether a PostgreSQL URL carries a password (`user:password@`). */
export function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}
