/**
 * Why an invocation was refused after its AC and proof verified (403), or failed in a way
 * the caller can act on. One code per rule; the messages are in the error catalog.
 */
import { BastionError } from '../base/errors.js';

export type InvocationDenialCode =
  | 'connector_mismatch'
  | 'target_mismatch'
  | 'capability_missing'
  | 'command_not_allowed'
  | 'shell_syntax_not_allowed'
  | 'path_not_allowed';

export class InvocationDeniedError extends BastionError {
  declare readonly code: InvocationDenialCode;
  constructor(code: InvocationDenialCode) {
    super(code);
  }
}

export class UnknownConnectorError extends BastionError {
  constructor() {
    super('connector_unknown');
  }
}

/** The broker has no route to the target for this connector (a deployment gap, not the caller's). */
export class TargetNotConfiguredError extends BastionError {
  constructor() {
    super('target_not_configured');
  }
}
