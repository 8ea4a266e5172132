/**
 * Audit entries: append-only, hash-chained (`seq`, `prev`, `hash`), metadata only — a
 * credential appears as its fingerprint, never itself.
 */
export const AUDIT_TYPES = [
  'authorize',
  'approve',
  'revoke',
  'deny',
  'invoke_start',
  'invoke_end',
  'invoke_interrupted',
  'credential_issue',
  'credential_discard',
] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

export interface AuditEvent {
  readonly type: AuditType;
  /** The DID that acted (requester, approver, revoker, invoker). */
  readonly actor?: string | undefined;
  /** The AC's principal, when it differs from the actor or for filtering. */
  readonly principal?: string | undefined;
  readonly ac_id?: string | undefined;
  /** Ties invoke_start, credential_issue/discard and invoke_end of one invocation. */
  readonly invocation_id?: string | undefined;
  readonly connector?: string | undefined;
  readonly target?: string | undefined;
  /** `ok`, or the error code the operation ended with. */
  readonly outcome?: string | undefined;
  /** Further metadata (JSON): backend id, fingerprint, duration_ms, exit_code, command, … */
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}

export interface AuditEntry extends AuditEvent {
  readonly seq: number;
  /** ISO 8601, from the broker's clock. */
  readonly ts: string;
  /** Hash of the previous entry (64 hex zeros for the first). */
  readonly prev: string;
  /** SHA-256 (hex) over the canonical JSON of every other field, `prev` included. */
  readonly hash: string;
}

export interface AuditFilter {
  /** Entries with seq greater than this. */
  readonly after?: number | undefined;
  readonly limit?: number | undefined;
  readonly type?: AuditType | undefined;
  readonly ac_id?: string | undefined;
  /** Entries whose actor or principal is this DID. */
  readonly did?: string | undefined;
  /** ISO 8601: entries at or after this time. */
  readonly since?: string | undefined;
}

/** What the governance service and the session lifecycle need of the audit log. */
export interface Auditor {
  /** Appends durably, or throws (AuditUnavailableError) — callers fail closed on it. */
  append(event: AuditEvent): Promise<unknown>;
  /** Appends events that happen together with one durable write; in order. */
  appendBatch?(events: readonly AuditEvent[]): Promise<unknown>;
}
