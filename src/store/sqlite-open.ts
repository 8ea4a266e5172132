/**
 * Opening the SQLite database file: a plain file name inside the data directory, the
 * directory 0700 and the file (and its -wal/-shm companions) 0600, never through a symlink;
 * durable pragmas, WAL mode and the migrations. What fails here is a configuration error.
 */
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
} from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { ConfigError } from '../base/errors.js';
import { applyMigrations } from './migrations.js';
import { mapOpenError } from './sqlite-errors.js';

export interface SqliteStoreOptions {
  /** Created with mode 0700 when missing. */
  readonly dataDir: string;
  /** A plain file name inside dataDir; default `bastion.db`. */
  readonly fileName?: string | undefined;
  /** How long a write waits for another connection's lock; default 5000 ms. */
  readonly busyTimeoutMs?: number | undefined;
}

/** Where an opened database file is and how long its writes wait: what a writer thread needs. */
export interface DbFile {
  readonly path: string;
  readonly busyTimeoutMs: number;
}

const DEFAULT_FILE_NAME = 'bastion.db';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const CONFIG_WHERE = 'store';

/**
 * Opens (creating and migrating as needed) `<dataDir>/<fileName>` and hands it to `use`;
 * when either fails the database is closed again.
 */
export function openDatabase<T>(options: SqliteStoreOptions, use: (db: Db, file: DbFile) => T): T {
  const fileName = options.fileName ?? DEFAULT_FILE_NAME;
  if (
    fileName === '' ||
    fileName !== basename(fileName) ||
    fileName === '.' ||
    fileName === '..' ||
    fileName.startsWith(':')
  ) {
    throw new ConfigError(CONFIG_WHERE, 'fileName must be a plain file name');
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new ConfigError(CONFIG_WHERE, 'busyTimeoutMs must be a non-negative integer');
  }
  prepareDataDir(options.dataDir);
  const path = join(options.dataDir, fileName);
  precreateFile(path);

  let db: Db | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    configure(db, busyTimeoutMs);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new ConfigError(CONFIG_WHERE, 'the database refused WAL mode');
    // SQLite gives -wal/-shm the database file's mode when it creates them; a companion
    // left from an earlier crash keeps whatever mode it had, so tighten it here.
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(path + suffix)) chmodSync(path + suffix, FILE_MODE);
    }
    applyMigrations(db);
    return use(db, { path, busyTimeoutMs });
  } catch (err) {
    db?.close();
    throw mapOpenError(err, CONFIG_WHERE);
  }
}

/** A private in-memory database, migrated and handed to `use`; for tests. */
export function openMemoryDatabase<T>(use: (db: Db) => T): T {
  const db = new Database(':memory:');
  try {
    configure(db, DEFAULT_BUSY_TIMEOUT_MS);
    applyMigrations(db);
    return use(db);
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * A second connection to a file `openDatabase` has already created and migrated, with the
 * same pragmas: the writer thread's.
 */
export function openWriterConnection(file: DbFile): Db {
  const db = new Database(file.path, { timeout: file.busyTimeoutMs, fileMustExist: true });
  try {
    configure(db, file.busyTimeoutMs);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function configure(db: Db, busyTimeoutMs: number): void {
  // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and a
  // lost revocation silently re-enables an AC. The fsync per commit is the price.
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`); // validated integer, not a value from SQL input
  db.pragma('foreign_keys = ON');
  // Schema objects must not call application functions; defence against a tampered file.
  db.pragma('trusted_schema = OFF');
}

function prepareDataDir(dataDir: string): void {
  if (typeof dataDir !== 'string' || dataDir === '') {
    throw new ConfigError(CONFIG_WHERE, 'dataDir is required');
  }
  let created: string | undefined;
  try {
    created = mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  } catch {
    throw new ConfigError(CONFIG_WHERE, 'dataDir cannot be created or is not a directory');
  }
  // mode passes through the umask, which can only narrow it; chmod makes it exact on every
  // directory created here (mkdir returns the topmost). Existing ones are the operator's.
  if (created !== undefined) {
    let dir = created;
    chmodSync(dir, DIR_MODE);
    for (const part of relative(created, resolve(dataDir)).split(sep).filter(Boolean)) {
      dir = join(dir, part);
      chmodSync(dir, DIR_MODE);
    }
  }
}

/**
 * Creates the database file 0600 before SQLite opens it (SQLite would use 0644 less the
 * umask), tightens an existing one, and refuses a symlink in its place.
 */
function precreateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, FILE_MODE);
  } catch {
    throw new ConfigError(CONFIG_WHERE, 'the database file cannot be opened (or is a symlink)');
  }
  try {
    if (!fstatSync(fd).isFile()) {
      throw new ConfigError(CONFIG_WHERE, 'the database path is not a regular file');
    }
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
}
