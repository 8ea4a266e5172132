/**
 * What a caller is to an AC (its principal, the holder of the key it is bound to, an admin,
 * an approver of its accord): the roles every operation on an existing AC is judged by.
 */
import type { AcRecord } from '../store/store.js';
import type { Accord } from './accords.js';
import type { VerifiedProof } from './dpop.js';

export interface AcRoles {
  readonly principal: boolean;
  readonly holder: boolean;
  readonly admin: boolean;
  readonly approver: boolean;
}

/**
 * The roles of `caller` on `record`; `admins` are the broker-wide admins, `accord` the AC's
 * accord if it is still configured.
 */
export function rolesOn(
  caller: VerifiedProof,
  record: AcRecord,
  admins: readonly string[],
  accord: Accord | undefined,
): AcRoles {
  return {
    principal: caller.did === record.principal_did,
    // The key the AC is bound to: the principal's, or its delegate agent's.
    holder: caller.jkt === record.cnf_jkt,
    admin: admins.includes(caller.did) || (accord?.admins.includes(caller.did) ?? false),
    approver: accord?.approvals.approvers.includes(caller.did) ?? false,
  };
}
