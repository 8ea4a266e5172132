/**
 * A write's error as it crosses from the writer thread back to its caller. Only what
 * rebuilds the error is sent — a catalog code with its fixed message, or an SQLite result
 * code — never an SQLite message (it may quote values), so the caller gets the same class
 * and code the inline store raises, and nothing else.
 */
import Database from 'better-sqlite3';
import { BastionError, InternalError, InvalidArgumentError } from '../base/errors.js';
import {
  AcConflictError,
  AuditChainConflictError,
  StoreClosedError,
  StoreJournalError,
  StoreUnavailableError,
} from './errors.js';
import { mapCallError } from './sqlite-errors.js';

export type WireError =
  { readonly code: string; readonly message: string } | { readonly sqlite: string };

/** The rebuilders by code; a code not here arrives as an internal error. */
const REBUILD: Readonly<Record<string, (message: string) => BastionError>> = {
  ac_conflict: () => new AcConflictError(),
  audit_chain_conflict: () => new AuditChainConflictError(),
  store_closed: () => new StoreClosedError(),
  store_unavailable: () => new StoreUnavailableError(),
  store_journal_failed: () => new StoreJournalError(),
  invalid_argument: rebuildInvalidArgument,
};

const SQLITE_MESSAGE = 'SQLite error in the store writer';

/** In the writer thread: what of `err` is sent. */
export function toWire(err: unknown): WireError {
  const mapped = mapCallError(err);
  if (mapped instanceof BastionError) return { code: mapped.code, message: mapped.message };
  if (mapped instanceof Database.SqliteError) return { sqlite: mapped.code };
  return { code: 'internal_error', message: '' };
}

/** In the caller's thread: the error `wire` describes. */
export function fromWire(wire: WireError): Error {
  if ('sqlite' in wire) return new Database.SqliteError(SQLITE_MESSAGE, wire.sqlite);
  return REBUILD[wire.code]?.(wire.message) ?? new InternalError();
}

/**
 * `InvalidArgumentError(what)`: `what` is always a name chosen by the store's code, read
 * back from the fixed message; anything that does not rebuild to the very same message is
 * an internal error instead.
 */
function rebuildInvalidArgument(message: string): BastionError {
  const prefix = new InvalidArgumentError('').message;
  const rebuilt = message.startsWith(prefix)
    ? new InvalidArgumentError(message.slice(prefix.length))
    : undefined;
  return rebuilt?.message === message ? rebuilt : new InternalError();
}
