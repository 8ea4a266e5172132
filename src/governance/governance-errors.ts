/**
 * The governance refusals of an operation on an existing AC (approving, revoking, showing):
 * unknown, the caller not allowed, or the AC not in the state the operation needs. Their
 * statuses and messages are in the error catalog.
 */
import { BastionError } from '../base/errors.js';

type GovernanceCode =
  | 'ac_not_found'
  | 'not_an_approver'
  | 'not_allowed_to_deny'
  | 'self_approval_not_allowed'
  | 'ac_not_pending'
  | 'already_approved'
  | 'not_allowed_to_revoke'
  | 'ac_already_revoked';

export class GovernanceError extends BastionError {
  declare readonly code: GovernanceCode;
  constructor(code: GovernanceCode) {
    super(code);
  }
}
