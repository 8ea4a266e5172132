/**
 * What SQLite's error codes mean to the broker: a file that is not a database or cannot be
 * written is a configuration error at open; a duplicate key or a failed constraint on write
 * is a conflict or a bad argument; a busy, read-only, full or failing database is a store
 * that is unavailable for now. Anything else passes through unchanged.
 */
import Database from 'better-sqlite3';
import { ConfigError, InvalidArgumentError } from '../base/errors.js';
import { AcConflictError, StoreUnavailableError } from './errors.js';

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CANTOPEN)/;

function isSqliteError(err: unknown): err is InstanceType<typeof Database.SqliteError> {
  return err instanceof Database.SqliteError;
}

/** A failure while opening or migrating the file `where` names in its ConfigError. */
export function mapOpenError(err: unknown, where: string): unknown {
  if (!isSqliteError(err)) return err;
  if (err.code === 'SQLITE_NOTADB' || err.code.startsWith('SQLITE_CORRUPT')) {
    return new ConfigError(where, 'the database file is not a readable SQLite database');
  }
  if (err.code.startsWith('SQLITE_CANTOPEN') || err.code.startsWith('SQLITE_READONLY')) {
    return new ConfigError(where, 'the database file cannot be opened for writing');
  }
  return err;
}

/** A failed write of an AC row. */
export function mapWriteError(err: unknown): unknown {
  if (!isSqliteError(err)) return err;
  if (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new AcConflictError();
  }
  if (
    err.code === 'SQLITE_CONSTRAINT_CHECK' ||
    err.code === 'SQLITE_CONSTRAINT_NOTNULL' ||
    err.code === 'SQLITE_CONSTRAINT_DATATYPE'
  ) {
    return new InvalidArgumentError('authorization context record');
  }
  return err;
}

/** Any store call: the database cannot serve it now, or the error as it was. */
export function mapCallError(err: unknown): unknown {
  return isSqliteError(err) && UNAVAILABLE.test(err.code) ? new StoreUnavailableError() : err;
}
