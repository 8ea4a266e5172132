/**
 * Why an invocation was refused after its AC and proof verified (403): the AC does not
 * cover the operation, or the accord no longer allows it. One code per rule; the messages
 * are in the error catalog.
 */
import { BastionError } from '../base/errors.js';

export type InvocationDenialCode =
  | 'connector_mismatch'
  | 'target_mismatch'
  | 'capability_missing'
  | 'command_not_allowed'
  | 'shell_syntax_not_allowed'
  // A PowerShell script whose commands cannot be determined statically (connectors/winrm).
  | 'winrm_powershell_unclassifiable'
  | 'path_not_allowed'
  | 'accord_changed'
  // The accord as it is now no longer allows the AC (recheck.ts).
  | 'principal_not_allowed'
  | 'delegation_not_allowed'
  | 'connector_not_allowed'
  | 'target_not_allowed'
  | 'target_address_refused'
  | 'capability_not_granted';

export class InvocationDeniedError extends BastionError {
  declare readonly code: InvocationDenialCode;
  constructor(code: InvocationDenialCode) {
    super(code);
  }
}
