/**
 * The audit trail's own error, shared by the log and its sinks (its code, status and
 * message are in the error catalog), and how the log names a failure in a log line.
 */
import { BastionError } from '../base/errors.js';

/**
 * The audit trail could not be written (or read): the store or the sink failed, or the log
 * is closed. Whatever was about to happen must not happen unrecorded.
 */
export class AuditUnavailableError extends BastionError {
  constructor(options?: { cause?: unknown }) {
    super('audit_unavailable', options);
  }
}

/** A loggable code for a failure: ours, SQLite's or the OS's — never an error's text. */
export function errorCode(err: unknown): string {
  if (err instanceof BastionError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'unknown';
}
