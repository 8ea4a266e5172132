/**
 * An authorize request and what it becomes: the access request the accords judge, the key
 * the AC will be bound to, the pending AC record a decision makes of it, its audit entries
 * and the reply. Which of these happen, and in what order, is the service's (service.ts).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../base/audit-records.js';
import type { ActorClaim } from '../credentials/types.js';
import type { AcRecord } from '../store/store.js';
import type { AcClaims } from './ac.js';
import type { AccessRequest, Decision } from './accords.js';
import { jwkFromDid, thumbprint } from './did-key.js';
import type { VerifiedProof } from './dpop.js';

export interface AuthorizeInput {
  readonly accord: string;
  readonly connector: string;
  readonly target: string;
  readonly capabilities: string[];
  readonly duration_seconds: number;
  readonly justification?: string | undefined;
  /** Delegation: issue the AC for this agent did:key, acting for the caller. */
  readonly delegate_to?: string | undefined;
}

export type AuthorizeResult =
  | { status: 'active'; ac_id: string; ac: string; expires_at: string; capability_mask: number }
  | { status: 'pending_approval'; ac_id: string; approvals_required: number };

/** Who will present the AC: the thumbprint of its key and, when delegated, the agent. */
export interface Holder {
  readonly jkt: string;
  readonly act?: ActorClaim | undefined;
}

export function accessRequestOf(caller: VerifiedProof, input: AuthorizeInput): AccessRequest {
  return {
    principal_did: caller.did,
    accord: input.accord,
    connector: input.connector,
    target: input.target,
    capabilities: input.capabilities,
    duration_seconds: input.duration_seconds,
    ...(input.delegate_to !== undefined ? { delegate_to: input.delegate_to } : {}),
  };
}

/** The AC is bound to the key that will present it: the agent's, when delegated. */
export async function holderOf(caller: VerifiedProof, input: AuthorizeInput): Promise<Holder> {
  if (input.delegate_to === undefined) return { jkt: caller.jkt };
  return { jkt: await thumbprint(jwkFromDid(input.delegate_to)), act: { sub: input.delegate_to } };
}

/** The AC `decision` grants, with a fresh id, pending until activated. */
export function pendingRecord(
  caller: VerifiedProof,
  input: AuthorizeInput,
  decision: Decision,
  holder: Holder,
  now: number,
): AcRecord {
  return {
    ac_id: randomUUID(),
    principal_did: caller.did,
    cnf_jkt: holder.jkt,
    ...(holder.act !== undefined ? { act: holder.act } : {}),
    accord: decision.accord.id,
    connector: input.connector,
    target: decision.target,
    capabilities: decision.capabilities,
    capability_mask: decision.capability_mask,
    duration_seconds: decision.duration_seconds,
    justification: input.justification,
    approvals_required: decision.approvals_required,
    requested_at: now,
    state: 'pending_approval',
  };
}

/** The `active` form of a pending `record`, carrying `claims` from `now`. */
export function activeRecord(record: AcRecord, claims: AcClaims, now: number): AcRecord {
  return {
    ...record,
    state: 'active',
    claims: { ...claims },
    expires_at: claims.exp,
    activated_at: now,
  };
}

/** The audit entry of an authorize the accords refused with `code`. */
export function denialEvent(
  caller: VerifiedProof,
  input: AuthorizeInput,
  code: string,
): AuditEvent {
  return {
    type: 'deny',
    actor: caller.did,
    principal: caller.did,
    connector: input.connector,
    outcome: code,
    detail: { accord: input.accord },
  };
}

/** The audit entry of an authorize the accords allowed, as `record`. */
export function authorizeEvent(
  caller: VerifiedProof,
  input: AuthorizeInput,
  record: AcRecord,
): AuditEvent {
  return {
    type: 'authorize',
    actor: caller.did,
    principal: caller.did,
    ac_id: record.ac_id,
    connector: record.connector,
    target: record.target,
    outcome: record.approvals_required > 0 ? 'pending_approval' : 'active',
    detail: {
      accord: record.accord,
      capabilities: record.capabilities,
      duration_seconds: record.duration_seconds,
      ...(input.justification !== undefined ? { justification: input.justification } : {}),
      ...(record.act !== undefined ? { act: record.act } : {}),
    },
  };
}

/** The reply: the token and its expiry when the AC is active at once. */
export function authorizeResult(
  record: AcRecord,
  active?: { readonly claims: AcClaims; readonly token: string },
): AuthorizeResult {
  if (active === undefined) {
    return {
      status: 'pending_approval',
      ac_id: record.ac_id,
      approvals_required: record.approvals_required,
    };
  }
  return {
    status: 'active',
    ac_id: record.ac_id,
    ac: active.token,
    expires_at: new Date(active.claims.exp * 1000).toISOString(),
    capability_mask: record.capability_mask,
  };
}
