/**
 * The broker's persistent state: authorization metadata only (never a credential, never a
 * private key). Narrow and async so that SQLite (embedded default) and PostgreSQL (several
 * replicas) can both implement it; every state transition is a conditional write, so two
 * replicas racing on one AC cannot both win.
 */
import type { ActorClaim } from '../credentials/types.js';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import type { JournalWrite } from './journal.js';

export type { JournalWrite } from './journal.js';

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
  /** Epoch ms; set when an approver denied the request (its state stays pending_approval). */
  readonly denied_at?: number | undefined;
  readonly denied_by?: string | undefined;
  /** The denying approver's comment, plain text, for the requester. */
  readonly denial_comment?: string | undefined;
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
  /** The approver's comment, plain text, when it gave one. */
  readonly comment?: string | undefined;
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

/**
 * A broker AC signing key as the store keeps it (signing_keys: database): its public half,
 * and, while it is the active key, its private half wrapped (encrypted) under a
 * key-encryption key the store never sees. The wrapped form is ciphertext, so it is the one
 * key-shaped value a store holds: without the KEK it yields nothing (signing-keys.ts checks
 * its shape, and refuses a plaintext PKCS#8 key).
 */
export interface StoredSigningKey {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  /** The Ed25519 public key, base64url (the JWK `x`). */
  readonly x: string;
  /** Epoch ms. */
  readonly created_at: number;
  /** Epoch ms; absent while the key is the active one. */
  readonly retired_at?: number | undefined;
  /** The wrapping's format version, bound into the ciphertext with the kid. */
  readonly version: number;
  /** The wrapped private key while active (`bwk1.` + base64url); gone once retired. */
  readonly wrapped?: string | undefined;
  /**
   * The public half's seal: an empty plaintext wrapped with the kid, `x` and version as
   * associated data, so that whoever can write the database cannot add a verification key.
   */
  readonly seal: string;
}

/** The notification channel a key rotation is announced on (payload: the new kid). */
export const KEYS_CHANNEL = 'bastion_keys';

/**
 * The channel a revocation is announced on (payload: the AC's id, never its token), so that
 * every replica drops the AC from its verified-AC cache; revocation is still read at every use.
 */
export const REVOCATIONS_CHANNEL = 'bastion_revocations';

/** A rate-limit window's length: `hitRateLimit` windows start every RATE_WINDOW_MS. */
export const RATE_WINDOW_MS = 60_000;

/** Called with a notification's payload, or undefined after a reconnection (some may be lost). */
export type NotificationHandler = (payload: string | undefined) => void;

/** An audit entry's columns (audit-row.ts converts them to and from an AuditEntry). */
export interface AuditRow {
  seq: number;
  ts: string;
  type: string;
  actor: string | null;
  principal: string | null;
  ac_id: string | null;
  invocation_id: string | null;
  connector: string | null;
  target: string | null;
  outcome: string | null;
  detail: string | null;
  prev: string;
  hash: string;
}

/** An event's columns, validated, before the transaction gives it a place in the chain. */
export type AuditFields = Omit<AuditRow, 'seq' | 'prev' | 'hash'>;

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
   * already approved this AC. Approvals of an AC that is not pending, or denied, are refused
   * (false).
   */
  addApproval(acId: string, approverDid: string, at: number, comment?: string): Promise<boolean>;
  /**
   * Denies a pending, undenied AC: it can then never be approved nor activated. Returns
   * false, changing nothing, when it was not pending or already denied.
   */
  denyAc(acId: string, by: string, at: number, comment?: string): Promise<boolean>;
  listApprovals(acId: string): Promise<Approval[]>;
  /** ACs matching every filter of `filter`, the newest request first. */
  listAcs(filter: AcFilter): Promise<AcRecord[]>;
  /** How many ACs are in `state` now (the metrics' pending approvals: one cheap count). */
  countAcs(state: StoredAcState): Promise<number>;
  /**
   * pending_approval → active, storing the claims and expiry; or a fresh insert already
   * active. Returns false when the AC was not pending (already active or revoked) or denied.
   */
  activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): Promise<boolean>;
  /**
   * Any state → revoked, and a revocation entry kept at least until `expiresAt` (epoch s).
   * Returns false when it was already revoked. Announced on REVOCATIONS_CHANNEL.
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
   * now), and ended rate-limit windows. Never deletes a revocation of an AC that has not
   * expired. `now` is epoch ms.
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
  /**
   * Only on a store several brokers share (PostgreSQL): appends events the audit log
   * checked and stamped (`auditFields`), chained after the head read under the write lock
   * in the same transaction, with `effects`: all or nothing. The log then holds no head of
   * its own, so brokers on other hosts write one chain (docs/architecture.md, "Write path").
   */
  appendAuditChained?(
    fields: readonly AuditFields[],
    effects: readonly StoreEffect[],
  ): Promise<AuditEntry[]>;
  /**
   * Only on a shared store: in one transaction under the audit write lock, reads the
   * unfinished invocations and appends the events `make` returns for them. With
   * `expireBefore` (epoch ms) it first deletes the leases that ended before it and gives
   * `make` their replica ids: only the transaction that deletes a lease sees it expired, so
   * one sweeping replica marks a dead replica's invocations, once.
   */
  appendForUnfinished?(
    make: (open: readonly AuditEntry[], expired: ReadonlySet<string>) => AuditEvent[],
    ts: string,
    expireBefore?: number,
  ): Promise<AuditEntry[]>;
  /** Only on a shared store: sets replica `replicaId`'s lease to end at `until` (epoch ms). */
  renewLease?(replicaId: string, until: number): Promise<void>;
  /** Only on a shared store: the replicas whose lease ends at or after `now` (epoch ms). */
  liveReplicas?(now: number): Promise<string[]>;
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

  // Signing keys (signing_keys: database), rate limits and notifications: what several
  // replicas share beyond the audit trail.

  /** Every signing key, the active one (no `retired_at`) included, by created_at. */
  listSigningKeys(): Promise<StoredSigningKey[]>;
  /**
   * Makes `key` the active key, retiring `retiring` at `at` (its wrapped private key is
   * deleted) in the same transaction, and announces it on KEYS_CHANNEL. Returns false,
   * changing nothing, when `retiring` is no longer the active key (undefined: when a key
   * already exists): two replicas rotating at once leave one active key.
   */
  insertSigningKey(
    key: StoredSigningKey,
    retiring: string | undefined,
    at: number,
  ): Promise<boolean>;
  /**
   * Counts one hit for `key` in the window starting at `windowStart` (epoch ms) in one
   * atomic statement, and returns the hit's number: accepted when at most `limit`. A hit past
   * the limit is not counted (it returns limit + 1). `cleanup` deletes ended windows.
   */
  hitRateLimit(key: string, windowStart: number, limit: number): Promise<number>;
  /** Sends `payload` to every subscriber of `channel`: PostgreSQL NOTIFY; SQLite in-process. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Calls `fn` on each notification on `channel` (from any replica on PostgreSQL, from this
   * process on SQLite) until the returned function is called.
   */
  subscribe(channel: string, fn: NotificationHandler): Promise<() => Promise<void>>;

  /** Only on a file store: calls `fn` with each durable (fsynced) write's duration, in s. */
  observeSync?(fn: (seconds: number) => void): void;

  close(): Promise<void>;
}

/**
 * A store whose writer can append the audit sink's line itself, right before it commits
 * the entries (journal.ts): the log then hands each write over once, not twice. A journal
 * line that fails fails its write (StoreJournalError), and nothing of it is committed.
 */
export interface JournalingStore extends Store {
  insertAuditEntries(
    entries: readonly AuditEntry[],
    effects?: readonly StoreEffect[],
    options?: InsertAuditOptions & { readonly journal?: JournalWrite | undefined },
  ): Promise<void>;
  /** Appends a line alone (a checkpoint's), in order with the writes around it. */
  appendJournal(journal: JournalWrite): Promise<void>;
}

export function isJournaling(store: Store): store is JournalingStore {
  return typeof (store as Partial<JournalingStore>).appendJournal === 'function';
}
