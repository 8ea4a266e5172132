/**
 * An invocation that cannot be routed: no such connector, or no endpoint for the target.
 * (Refusals by policy are governance's: InvocationDeniedError in governance/denials.ts.)
 */
import { BastionError } from '../base/errors.js';

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
