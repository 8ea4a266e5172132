/**
 * An AC record and its row in the `acs` table, both ways: checked on the way in (state,
 * capabilities, integers, no secret in the justification or the claims), JSON columns
 * parsed and NULL columns dropped on the way out.
 */
import type { ActorClaim } from '../credentials/types.js';
import { InvalidArgumentError } from '../base/errors.js';
import { int, optionalInt, optionalText, text } from './checks.js';
import { isSecretShaped, looksSecret } from './secret-guard.js';
import type { AcRecord, Approval, StoredAcState } from './store.js';

export interface AcRow {
  ac_id: string;
  principal_did: string;
  cnf_jkt: string;
  accord: string;
  connector: string;
  target: string;
  capabilities: string;
  capability_mask: number;
  duration_seconds: number;
  justification: string | null;
  act: string | null;
  approvals_required: number;
  requested_at: number;
  state: StoredAcState;
  claims: string | null;
  expires_at: number | null;
  activated_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  denied_at: number | null;
  denied_by: string | null;
  denial_comment: string | null;
}

/** An approval as both stores read it; a NULL comment becomes an absent one. */
export interface ApprovalRow {
  approver_did: string;
  approved_at: number | string;
  comment: string | null;
}

export function approvalOf(row: ApprovalRow): Approval {
  const approval = { approver_did: row.approver_did, approved_at: Number(row.approved_at) };
  return row.comment === null ? approval : { ...approval, comment: row.comment };
}

/** A decision's comment as stored: plain text, nothing shaped like a secret. */
export function commentText(comment: string | undefined): string | null {
  if (comment === undefined) return null;
  if (typeof comment !== 'string' || isSecretShaped(comment)) {
    throw new InvalidArgumentError('decision comment');
  }
  return comment;
}

/** The claims column: a plain object holding nothing shaped or named like a secret. */
export function claimsJson(claims: Readonly<Record<string, unknown>>): string {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new InvalidArgumentError('AC claims');
  }
  if (looksSecret(claims)) throw new InvalidArgumentError('AC claims');
  return JSON.stringify(claims);
}

export function toRow(r: AcRecord): AcRow {
  // A revoked AC enters through revokeAc, which also writes its revocation entry.
  if (r.state !== 'pending_approval' && r.state !== 'active') {
    throw new InvalidArgumentError('AC state');
  }
  if (!Array.isArray(r.capabilities) || !r.capabilities.every((c) => typeof c === 'string')) {
    throw new InvalidArgumentError('AC capabilities');
  }
  if (r.justification !== undefined && isSecretShaped(r.justification)) {
    throw new InvalidArgumentError('AC justification');
  }
  return {
    ac_id: text(r.ac_id, 'ac_id'),
    principal_did: text(r.principal_did, 'principal DID'),
    cnf_jkt: text(r.cnf_jkt, 'cnf.jkt'),
    accord: text(r.accord, 'accord'),
    connector: text(r.connector, 'connector'),
    target: text(r.target, 'target'),
    capabilities: JSON.stringify(r.capabilities),
    capability_mask: int(r.capability_mask, 'capability mask'),
    duration_seconds: int(r.duration_seconds, 'duration'),
    justification: r.justification ?? null,
    act: r.act === undefined ? null : JSON.stringify(r.act),
    approvals_required: int(r.approvals_required, 'approvals required'),
    requested_at: int(r.requested_at, 'request time'),
    state: r.state,
    claims: r.claims === undefined ? null : claimsJson(r.claims),
    expires_at: optionalInt(r.expires_at, 'AC expiry'),
    activated_at: optionalInt(r.activated_at, 'activation time'),
    revoked_at: optionalInt(r.revoked_at, 'revocation time'),
    revoked_by: optionalText(r.revoked_by, 'revoker'),
    // A denial enters through denyAc only.
    denied_at: null,
    denied_by: null,
    denial_comment: null,
  };
}

export function fromRow(row: AcRow): AcRecord {
  const record: {
    -readonly [K in keyof AcRecord]: AcRecord[K];
  } = {
    ac_id: row.ac_id,
    principal_did: row.principal_did,
    cnf_jkt: row.cnf_jkt,
    accord: row.accord,
    connector: row.connector,
    target: row.target,
    capabilities: JSON.parse(row.capabilities) as string[],
    capability_mask: row.capability_mask,
    duration_seconds: row.duration_seconds,
    approvals_required: row.approvals_required,
    requested_at: row.requested_at,
    state: row.state,
  };
  // NULL columns become absent properties, as the optional fields were before insert.
  if (row.justification !== null) record.justification = row.justification;
  if (row.act !== null) record.act = JSON.parse(row.act) as ActorClaim;
  if (row.claims !== null) record.claims = JSON.parse(row.claims) as Record<string, unknown>;
  if (row.expires_at !== null) record.expires_at = row.expires_at;
  if (row.activated_at !== null) record.activated_at = row.activated_at;
  if (row.revoked_at !== null) record.revoked_at = row.revoked_at;
  if (row.revoked_by !== null) record.revoked_by = row.revoked_by;
  if (row.denied_at !== null) record.denied_at = row.denied_at;
  if (row.denied_by !== null) record.denied_by = row.denied_by;
  if (row.denial_comment !== null) record.denial_comment = row.denial_comment;
  return record;
}
