/**
 * The API's replies as the console reads them (the broker's OpenAPI document at
 * /openapi.json is the reference; these are the fields the views show).
 */
export interface AcView {
  ac_id: string;
  status: 'pending_approval' | 'active' | 'expired' | 'revoked' | 'denied';
  principal_did: string;
  accord: string;
  connector: string;
  target: string;
  capabilities: string[];
  duration_seconds: number;
  approvals_required: number;
  approvals: { approver_did: string; approved_at: string; comment?: string }[];
  requested_at: string;
  justification?: string;
  expires_at?: string;
  revoked_at?: string;
  denied_by?: string;
  denial_comment?: string;
}

export interface AccordView {
  id: string;
  as: 'principal' | 'delegate';
  connectors: string[];
  targets: string[];
  capabilities: string[];
  max_duration_seconds: number;
  approvals_required: number;
}

export interface AuditEntry {
  seq: number;
  ts: string;
  type: string;
  actor?: string;
  principal?: string;
  ac_id?: string;
  invocation_id?: string;
  connector?: string;
  target?: string;
  outcome?: string;
  detail?: Record<string, unknown>;
  prev: string;
  hash: string;
}

export interface BackendHealth {
  id: string;
  types: string[];
  state: 'closed' | 'open' | 'half_open';
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_failure_reason: string | null;
  latency_ms: { p50: number | null; p95: number | null; samples: number };
}

/** A signed checkpoint of the audit chain (`GET /audit/checkpoints`). */
export interface Checkpoint {
  seq: number;
  hash: string;
  ts: string;
  jws: string;
}
