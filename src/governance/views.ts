/**
 * What callers are shown: an AC record as its status and an `AcView` (times as ISO 8601,
 * the token added by the service only for its holder), and the accords a caller may ask
 * under as `AccordView`s. These shapes are the governance API's replies.
 */
import type { AcRecord, Approval } from '../store/store.js';
import type { Accord } from './accords.js';

export interface AccordView {
  id: string;
  /** `principal`: may request ACs; `delegate`: may hold ACs a principal delegates to it. */
  as: 'principal' | 'delegate';
  connectors: readonly string[];
  targets: readonly string[];
  capabilities: readonly string[];
  max_duration_seconds: number;
  approvals_required: number;
  commands?: { allow: readonly string[]; deny: readonly string[] };
  paths?: { allow: readonly string[]; deny: readonly string[] };
  delegates?: readonly string[];
}

/** `denied` is terminal: an approver refused the request, which can no longer be approved. */
export type AcStatus = 'pending_approval' | 'active' | 'expired' | 'revoked' | 'denied';

export interface AcView {
  ac_id: string;
  status: AcStatus;
  principal_did: string;
  accord: string;
  connector: string;
  target: string;
  capabilities: readonly string[];
  capability_mask: number;
  duration_seconds: number;
  approvals_required: number;
  approvals: { approver_did: string; approved_at: string; comment?: string }[];
  requested_at: string;
  /** Why it was asked for, as the requester wrote it (approvers decide on it). */
  justification?: string;
  expires_at?: string;
  revoked_at?: string;
  denied_at?: string;
  denied_by?: string;
  /** The denying approver's comment, for the requester. */
  denial_comment?: string;
  /** The token, only for its own principal and only while active. */
  ac?: string;
}

/** The status of `record` at `now`; a request not approved within `approvalTtlMs` expires. */
export function acStatus(record: AcRecord, now: number, approvalTtlMs: number): AcStatus {
  if (record.state === 'revoked') return 'revoked';
  if (record.denied_at !== undefined) return 'denied';
  if (record.state === 'active')
    return (record.expires_at ?? 0) * 1000 <= now ? 'expired' : 'active';
  return record.requested_at + approvalTtlMs <= now ? 'expired' : 'pending_approval';
}

/** `record` as shown, without its token. */
export function acView(record: AcRecord, status: AcStatus, approvals: readonly Approval[]): AcView {
  return {
    ac_id: record.ac_id,
    status,
    principal_did: record.principal_did,
    accord: record.accord,
    connector: record.connector,
    target: record.target,
    capabilities: record.capabilities,
    capability_mask: record.capability_mask,
    duration_seconds: record.duration_seconds,
    approvals_required: record.approvals_required,
    approvals: approvals.map((a) => ({
      approver_did: a.approver_did,
      approved_at: new Date(a.approved_at).toISOString(),
      ...(a.comment !== undefined ? { comment: a.comment } : {}),
    })),
    requested_at: new Date(record.requested_at).toISOString(),
    ...(record.justification !== undefined ? { justification: record.justification } : {}),
    ...(record.expires_at !== undefined
      ? { expires_at: new Date(record.expires_at * 1000).toISOString() }
      : {}),
    ...(record.revoked_at !== undefined
      ? { revoked_at: new Date(record.revoked_at).toISOString() }
      : {}),
    ...(record.denied_at !== undefined
      ? { denied_at: new Date(record.denied_at).toISOString(), denied_by: record.denied_by ?? '' }
      : {}),
    ...(record.denial_comment !== undefined ? { denial_comment: record.denial_comment } : {}),
  };
}

/** The accords `did` may ask under, or be delegated an AC of: what an agent can request. */
export function accordViews(accords: Iterable<Accord>, did: string): AccordView[] {
  const views: AccordView[] = [];
  for (const accord of accords) {
    const principal = accord.principals.includes(did);
    const delegate = (accord.delegates ?? []).includes(did);
    if (!principal && !delegate) continue;
    views.push({
      id: accord.id,
      as: principal ? 'principal' : 'delegate',
      connectors: accord.connectors,
      targets: accord.targets,
      capabilities: accord.capabilities,
      max_duration_seconds: accord.max_duration_seconds,
      approvals_required: accord.approvals.required,
      ...(accord.commands !== undefined ? { commands: accord.commands } : {}),
      ...(accord.paths !== undefined ? { paths: accord.paths } : {}),
      ...(principal && accord.delegates !== undefined ? { delegates: accord.delegates } : {}),
    });
  }
  return views;
}
