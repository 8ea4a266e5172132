/**
 * The `store:` section: SQLite in data_dir (the default, `store: sqlite`), or PostgreSQL
 * (`store: postgres://…`, or a mapping with `url`, `password_file`, `ca_file`,
 * `max_connections`), and `$BASTION_DATABASE_URL`, which wins over the file as
 * VAULT_ADDR or Teleport's environment do. A password is never kept in the URL: it is
 * taken out into a Secret (store/open.ts), read from `password_file`, or given in the
 * environment; one written into the file itself is accepted with a warning.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../base/errors.js';
import { type ConfigContext, filePath } from '../base/fields.js';
import { Secret } from '../credentials/secret.js';
import { postgresSettings, SQLITE_SETTINGS, type StoreSettings } from '../store/open.js';

export const DATABASE_URL_ENV = 'BASTION_DATABASE_URL';

const url = z
  .string({ error: 'must be sqlite or a postgres:// URL' })
  .max(4096, { error: 'must be at most 4096 characters long' })
  .regex(/^(sqlite|postgres(ql)?:\/\/\S+)$/, { error: 'must be sqlite or a postgres:// URL' });

export const storeSchema = (ctx: ConfigContext) =>
  z.union([
    url,
    z.strictObject(
      {
        url: url.refine((v) => v !== 'sqlite', { error: 'must be a postgres:// URL' }),
        password_file: filePath(ctx).optional(),
        ca_file: filePath(ctx).optional(),
        max_connections: z
          .int({ error: 'must be a whole number' })
          .min(1, { error: 'must be at least 1' })
          .max(1000, { error: 'must be at most 1000' })
          .optional(),
      },
      { error: 'must be sqlite, a postgres:// URL, or a mapping with url' },
    ),
  ]);

type RawStore = z.output<ReturnType<typeof storeSchema>>;

export const PASSWORD_IN_FILE_WARNING =
  `store: the configuration file holds the database password; give it in $${DATABASE_URL_ENV} ` +
  'or in store.password_file instead';

/** The store settings from the file's section and the environment; warnings appended. */
export function readStore(
  raw: RawStore | undefined,
  env: NodeJS.ProcessEnv,
  warnings: string[],
): StoreSettings {
  const section = typeof raw === 'string' ? { url: raw } : raw;
  const fromEnv = env[DATABASE_URL_ENV];
  let link = section?.url;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!url.safeParse(fromEnv).success) {
      throw new ConfigError(
        `environment variable ${DATABASE_URL_ENV}`,
        'is not valid for its setting',
      );
    }
    link = fromEnv;
  }
  if (link === undefined || link === 'sqlite') return SQLITE_SETTINGS;
  const split = postgresSettings(link);
  let password = split.password;
  if (password !== undefined && link !== fromEnv) warnings.push(PASSWORD_IN_FILE_WARNING);
  if (section?.password_file !== undefined) {
    if (password !== undefined) {
      password.dispose();
      throw new ConfigError('store.password_file', 'the URL has a password too: give one');
    }
    password = readPasswordFile(section.password_file);
  }
  const ssl = section?.ca_file === undefined ? undefined : { ca: readCa(section.ca_file) };
  return {
    kind: 'postgres',
    url: split.url,
    password,
    ssl,
    maxConnections: section?.max_connections,
  };
}

/** The file's bytes up to a final newline, into a Secret; the read buffer zero-filled. */
function readPasswordFile(path: string): Secret {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new ConfigError('store.password_file', 'cannot be read');
  }
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end -= 1;
  const secret = Secret.copyOf(bytes.subarray(0, end));
  bytes.fill(0);
  if (secret.byteLength === 0) throw new ConfigError('store.password_file', 'is empty');
  return secret;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError('store.ca_file', 'cannot be read');
  }
}
