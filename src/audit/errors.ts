/**
 * The audit trail's own error, shared by the log and its sinks; its code, status and
 * message are in the error catalog.
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
