/**
 * Which store a broker or an offline command opens, in one place: SQLite in the data
 * directory (the default), or PostgreSQL at a URL shared by several replicas. The URL's
 * password is taken out here into a `Secret`, so that the URL kept in the configuration,
 * logged or shown carries none.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../base/errors.js';
import { Secret } from '../credentials/secret.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export const SQLITE_FILE = 'bastion.db';

export type StoreSettings =
  | { readonly kind: 'sqlite' }
  | {
      readonly kind: 'postgres';
      /** Without its password. */
      readonly url: string;
      readonly password?: Secret | undefined;
      readonly ssl?: boolean | ConnectionOptions | undefined;
      readonly maxConnections?: number | undefined;
    };

export const SQLITE_SETTINGS: StoreSettings = { kind: 'sqlite' };

/**
 * A `postgres://` URL as settings: its password (percent-decoded) in a Secret, the URL
 * without it. A URL that does not parse is refused without being quoted.
 */
export function postgresSettings(url: string): {
  url: string;
  password: Secret | undefined;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('store', 'the PostgreSQL URL does not parse');
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new ConfigError('store', 'the PostgreSQL URL must start with postgres://');
  }
  if (parsed.password === '') return { url, password: undefined };
  let password: Secret;
  try {
    password = Secret.fromString(decodeURIComponent(parsed.password));
  } catch {
    throw new ConfigError('store', 'the PostgreSQL URL does not parse');
  }
  parsed.password = '';
  return { url: parsed.toString(), password };
}

/** The URL as it may be shown: its password, if any, replaced. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '(a URL that does not parse)';
  }
}

export interface OpenStoreOptions {
  /** Offline commands: refuse a data directory without a database (a mistyped path). */
  readonly mustExist?: boolean | undefined;
}

/** Opens (and migrates) the configured store. */
export async function openStore(
  settings: StoreSettings,
  dataDir: string,
  options: OpenStoreOptions = {},
): Promise<Store> {
  if (settings.kind === 'postgres') {
    return PostgresStore.open({
      url: settings.url,
      password: settings.password,
      ssl: settings.ssl,
      maxConnections: settings.maxConnections,
    });
  }
  if (options.mustExist === true && !existsSync(join(dataDir, SQLITE_FILE))) {
    throw new ConfigError(join(dataDir, SQLITE_FILE), 'no database here');
  }
  return SqliteStore.open({ dataDir });
}
