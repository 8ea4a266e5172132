/**
 * The broker's persistent state: authorization metadata only (never a credential, never a
 * private key). Narrow and async so that SQLite (embedded default) and PostgreSQL (several
 * replicas) can both implement it; every state transition is a conditional write, so two
 * replicas racing on one AC cannot both win.
 */
import type { ActorClaim } from '../credentials/types.js';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';

/** What is stored; `expired` is never stored, it is derived from `expires_at` at read time. */
export type StoredAcState = 'pending_approval' | 'active' | 'revoked';

export interface AcRecord {
  readonly ac_id: string;
  /** The AC's principal (the JWT `sub`), a did:key. */
  readonly principal_did: string;
  /** RFC 7638 thumbprint of the principal's key (the AC's `cnf.jkt`). */
  readonly cnf_jkt: string;
  readonly accord: string;
  readonly connector: string;
  readonly target: string;
  readonly capabilities: readonly string[];
  readonly capability_mask: number;
  readonly duration_seconds: number;
  readonly justification?: string | undefined;
  /** Delegation: the agent (RFC 8693 `act`) the AC is for; `cnf_jkt` is then its key. */
  readonly act?: ActorClaim | undefined;
  readonly approvals_required: number;
  /** Epoch ms. */
  readonly requested_at: number;
  readonly state: StoredAcState;
  /**
   * The signed claim set, once active (metadata; the token is re-signed from it on demand).
   * JSON-serialisable.
   */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** Epoch seconds; set when the AC becomes active. */
  readonly expires_at?: number | undefined;
  readonly activated_at?: number | undefined;
  readonly revoked_at?: number | undefined;
  readonly revoked_by?: string | undefined;
}

/** Which ACs `Store.listAcs` returns: those matching every filter given. */
export interface AcFilter {
  /** ACs this DID requested, or that are bound to this key thumbprint (its own or delegated). */
  readonly party?: { readonly did: string; readonly jkt: string } | undefined;
  readonly state?: StoredAcState | undefined;
  /** Only ACs under one of these accords (an empty list matches none). */
  readonly accords?: readonly string[] | undefined;
  /** Leave out ACs this DID requested or has approved: what it still has to decide. */
  readonly undecidedBy?: string | undefined;
  /** Only ACs requested after this time (epoch ms). */
  readonly requestedAfter?: number | undefined;
  /** Default 100, at most 1000. */
  readonly limit?: number | undefined;
}

export interface Approval {
  readonly approver_did: string;
  /** Epoch ms. */
  readonly approved_at: number;
}

/** A signed audit checkpoint: the chain head `{seq, hash}` at `ts`, as a compact JWS. */
export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  /** ISO 8601, from the broker's clock. */
  readonly ts: string;
  readonly jws: string;
}

/**
 * A state change stored in the same transaction as audit entries: issuance keeps its AC row
 * and its key's latest expiry in the commit that makes its audit entry durable.
 */
export type StoreEffect =
  | { readonly kind: 'insert_ac'; readonly record: AcRecord }
  | { readonly kind: 'note_key_use'; readonly kid: string; readonly exp: number };

export interface InsertAuditOptions {
  /**
   * The entries are already durable in a file the audit log reads back at start (its
   * sink), which puts back any the database lost: a commit with no effects then need not
   * fsync (SQLite `synchronous=NORMAL`; it still survives a crash of the process).
   */
  readonly durableOnSink?: boolean | undefined;
}

export interface Store {
  /** Inserts a new AC; rejects (throws) on a duplicate ac_id. */
  insertAc(record: AcRecord): Promise<void>;
  getAc(acId: string): Promise<AcRecord | undefined>;
  /**
   * Records one approver's approval. Returns false, changing nothing, when this approver
   * already approved this AC. Approvals of an AC that is not pending are refused (false).
   */
  addApproval(acId: string, approverDid: string, at: number): Promise<boolean>;
  listApprovals(acId: string): Promise<Approval[]>;
  /** ACs matching every filter of `filter`, the newest request first. */
  listAcs(filter: AcFilter): Promise<AcRecord[]>;
  /**
   * pending_approval → active, storing the claims and expiry; or a fresh insert already
   * active. Returns false when the AC was not pending (already active or revoked).
   */
  activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): Promise<boolean>;
  /**
   * Any state → revoked, and a revocation entry kept at least until `expiresAt` (epoch s).
   * Returns false when it was already revoked.
   */
  revokeAc(acId: string, by: string, at: number, expiresAt: number): Promise<boolean>;
  isRevoked(acId: string): Promise<boolean>;
  /**
   * Remembers a DPoP proof's `jti` for its key until `expiresAt` (epoch ms). Returns false
   * when the pair was already there: a replay.
   */
  rememberProof(jkt: string, jti: string, expiresAt: number): Promise<boolean>;
  /** Raises the recorded latest `exp` (epoch s) of ACs signed by `kid`. */
  noteKeyUse(kid: string, exp: number): Promise<void>;
  /** Latest `exp` of any AC signed by `kid`, or undefined if it signed none. */
  keyLastExpiry(kid: string): Promise<number | undefined>;
  /**
   * Deletes expired proof jtis and revocation entries whose AC has expired (`expiresAt` <
   * now). Never deletes a revocation of an AC that has not expired. `now` is epoch ms.
   */
  cleanup(now: number): Promise<{ proofs: number; revocations: number }>;

  // The audit trail: append-only and hash-chained. No method updates or deletes an entry.

  /**
   * Appends `event` as the next entry: seq = head + 1, prev = the head's hash (GENESIS for
   * the first), hash = auditHash of the rest. Reading the head and inserting are one
   * write-locked transaction, so concurrent appenders (connections, processes, replicas)
   * can never fork the chain. Refuses (InvalidArgumentError) a detail with a key named like
   * a secret or a value shaped like a token or private key.
   */
  appendAudit(event: AuditEvent, ts: string): Promise<AuditEntry>;
  /** Appends several events in order, in one transaction (one durable commit). */
  appendAuditBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]>;
  /**
   * Stores entries the audit log chained itself (it writes them to its sink first), and
   * then `effects`, in one transaction: all or nothing. Each entry is checked as
   * `appendAudit` checks an event and re-chained from its fields after the head read under
   * the write lock; unless that yields exactly the given seqs and hashes nothing is stored
   * (AuditChainConflictError).
   */
  insertAuditEntries(
    entries: readonly AuditEntry[],
    effects?: readonly StoreEffect[],
    options?: InsertAuditOptions,
  ): Promise<void>;
  /** The last entry's seq and hash, or undefined for an empty trail. */
  auditHead(): Promise<{ seq: number; hash: string } | undefined>;
  /** Entries matching every given filter, by seq ascending; limit default 100, at most 1000. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /**
   * Every entry with seq > `afterSeq` (default 0), by seq ascending, read in batches so a
   * large trail is never held in memory at once. Entries appended while iterating appear.
   */
  iterateAudit(afterSeq?: number): AsyncIterable<AuditEntry>;
  /**
   * invoke_start entries with no invoke_end or invoke_interrupted entry for the same
   * invocation_id, by seq ascending: invocations in flight, or cut off by a crash.
   */
  unfinishedInvocations(): Promise<AuditEntry[]>;
  /**
   * Stores a checkpoint. Refuses (InvalidArgumentError) one whose `{seq, hash}` is not an
   * entry of the trail; a second checkpoint of the same seq is ignored.
   */
  insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  /** The checkpoint with the highest seq, or undefined when none was taken. */
  latestCheckpoint(): Promise<AuditCheckpoint | undefined>;

  close(): Promise<void>;
}
