/**
 * Why an invocation was refused after its AC and proof verified (403), or failed in a way
 * the caller can act on. One code per rule; fixed messages.
 */
import { BastionError, defineErrorCode } from '../errors.js';

const DENIALS = {
  connector_mismatch: 'The authorization context is for another connector',
  target_mismatch: 'The authorization context is for another target',
  capability_missing:
    'The authorization context does not grant the capability this operation needs',
  command_not_allowed: "The accord's command policy does not allow this command",
  shell_syntax_not_allowed:
    'Under a command policy, give the command as argv, or without shell syntax (; & | $ ` < > ( ) { } and newlines)',
  path_not_allowed: "The accord's path policy does not allow this method and path",
} as const;

export type InvocationDenialCode = keyof typeof DENIALS;
for (const code of Object.keys(DENIALS)) defineErrorCode(code);

export class InvocationDeniedError extends BastionError {
  declare readonly code: InvocationDenialCode;
  constructor(code: InvocationDenialCode) {
    super(code, DENIALS[code], 403);
  }
}

const UNKNOWN_CONNECTOR = defineErrorCode('connector_unknown');
const UNCONFIGURED = defineErrorCode('target_not_configured');

export class UnknownConnectorError extends BastionError {
  constructor() {
    super(UNKNOWN_CONNECTOR, 'No such connector', 404);
  }
}

/** The broker has no route to the target for this connector (a deployment gap, not the caller's). */
export class TargetNotConfiguredError extends BastionError {
  constructor() {
    super(UNCONFIGURED, 'The broker has no endpoint configured for this target', 502);
  }
}
