/**
 * What PostgreSQL's failures mean to the broker, as the same classes the SQLite store
 * raises: a unique violation where a caller inserts an id is a conflict; a value the schema
 * refuses is a bad argument; a lost or refused connection, a timeout, a shutdown or an
 * overloaded server is a store unavailable for now; a refused login or a missing database
 * is a configuration error. Only a SQLSTATE is ever looked at: PostgreSQL's own text may
 * quote values, so it never becomes a message, and an unexpected server error becomes an
 * internal error carrying its SQLSTATE alone.
 */
import { DatabaseError } from 'pg';
import { BastionError, ConfigError, InternalError, InvalidArgumentError } from '../base/errors.js';
import { StoreUnavailableError } from './errors.js';

/** How a failed call is described: which refusal a unique violation is, what was written. */
export interface PgErrorContext {
  /** The error for a unique violation (23505); without it one is internal. */
  readonly conflict?: (() => BastionError) | undefined;
  /** Named in the InvalidArgumentError for a value the schema refuses. */
  readonly what?: string | undefined;
}

// Connection exception, insufficient resources, operator intervention (shutdown, a
// cancelled statement after statement_timeout), a serialisation failure or deadlock, a
// read-only server (a standby), a lock not available in time.
const UNAVAILABLE = /^(08|53|57|40)|^25006$|^55P03$/;
const CONFIG = /^(28|3D)/;
// Errors the driver raises itself when the connection is gone or never came.
const DRIVER_UNAVAILABLE =
  /Connection terminated|not queryable|timeout exceeded|Query read timeout|connection error/i;

export function mapPgError(err: unknown, context: PgErrorContext = {}): unknown {
  if (err instanceof BastionError) return err;
  if (err instanceof DatabaseError) {
    const code = err.code ?? '';
    if (code === '23505' && context.conflict !== undefined) return context.conflict();
    if (/^2[23]/.test(code)) return new InvalidArgumentError(context.what ?? 'store record');
    if (UNAVAILABLE.test(code)) return new StoreUnavailableError();
    if (CONFIG.test(code)) {
      return new ConfigError('store', 'PostgreSQL refused the login or has no such database');
    }
    return new InternalError({ cause: { sqlstate: code } });
  }
  if (err instanceof Error && (isSystemError(err) || DRIVER_UNAVAILABLE.test(err.message))) {
    return new StoreUnavailableError();
  }
  return err;
}

/** A socket-level failure (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, …). */
function isSystemError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
