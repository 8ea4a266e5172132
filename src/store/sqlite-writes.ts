/**
 * The store's write methods as one table, name → the synchronous work on `SqliteAcs` or
 * `SqliteAudit`: the in-memory store runs an entry inline, the file store sends its name and
 * arguments to the writer thread, which looks it up here. A new write method is one line.
 */
import type { AuditEntry, AuditEvent } from '../base/audit-records.js';
import { effectCalls } from './effects.js';
import type { JournalWrite } from './journal.js';
import type { SqliteAcs } from './sqlite-acs.js';
import type { SqliteAudit } from './sqlite-audit.js';
import type { SqliteKeys } from './sqlite-keys.js';
import type {
  AcRecord,
  AuditCheckpoint,
  InsertAuditOptions,
  StoreEffect,
  StoredSigningKey,
} from './store.js';

/** The synchronous halves of the store on one connection. */
export interface Writers {
  readonly acs: SqliteAcs;
  readonly audit: SqliteAudit;
  readonly keys: SqliteKeys;
}

export const WRITES = {
  insertAc: (w: Writers, record: AcRecord) => w.acs.insertAc(record),
  addApproval: (w: Writers, acId: string, approverDid: string, at: number, comment?: string) =>
    w.acs.addApproval(acId, approverDid, at, comment),
  denyAc: (w: Writers, acId: string, by: string, at: number, comment?: string) =>
    w.acs.denyAc(acId, by, at, comment),
  activateAc: (
    w: Writers,
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ) => w.acs.activateAc(acId, claims, expiresAt, at),
  revokeAc: (w: Writers, acId: string, by: string, at: number, expiresAt: number) =>
    w.acs.revokeAc(acId, by, at, expiresAt),
  rememberProof: (w: Writers, jkt: string, jti: string, expiresAt: number) =>
    w.acs.rememberProof(jkt, jti, expiresAt),
  noteKeyUse: (w: Writers, kid: string, exp: number) => w.acs.noteKeyUse(kid, exp),
  cleanup: (w: Writers, now: number) => {
    w.keys.deleteEndedWindows(now);
    return w.acs.cleanup(now);
  },
  insertSigningKey: (w: Writers, key: StoredSigningKey, retiring: string | undefined, at: number) =>
    w.keys.insertSigningKey(key, retiring, at),
  hitRateLimit: (w: Writers, key: string, windowStart: number, limit: number) =>
    w.keys.hitRateLimit(key, windowStart, limit),
  appendAudit: (w: Writers, event: AuditEvent, ts: string) => w.audit.append(event, ts),
  appendAuditBatch: (w: Writers, events: readonly AuditEvent[], ts: string) =>
    w.audit.appendBatch(events, ts),
  insertCheckpoint: (w: Writers, checkpoint: AuditCheckpoint) =>
    w.audit.insertCheckpoint(checkpoint),
  /** Nothing to commit: the request's journal line is the whole write. */
  appendJournal: (_w: Writers) => undefined,
  insertAuditEntries: (
    w: Writers,
    entries: readonly AuditEntry[],
    effects: readonly StoreEffect[],
    _options: InsertAuditOptions,
  ) =>
    w.audit.insertEntries(entries, () => {
      for (const call of effectCalls(effects, w.acs)) call();
    }),
} as const;

export type WriteName = keyof typeof WRITES;
export type WriteArgs<N extends WriteName> = (typeof WRITES)[N] extends (
  w: Writers,
  ...args: infer A
) => unknown
  ? A
  : never;
export type WriteResult<N extends WriteName> = ReturnType<(typeof WRITES)[N]>;

/**
 * What a write needs of its commit's fsync (SQLite `synchronous`; in WAL mode a NORMAL
 * commit survives a crash of the process and reaches the disk with the next FULL one):
 * - `now`: FULL, durable when acknowledged (AC state, revocations, key use, checkpoints).
 * - `later`: a DPoP jti, a rate-limit hit. NORMAL will do, provided a FULL commit follows before the request
 *   acts on the proof: every such request writes an audit entry first, so an audit commit
 *   made while a jti waits is FULL. A crash in between forgets only jtis of requests that
 *   did nothing.
 * - `none`: audit entries with no effects that the log already holds durably in a sink it
 *   reads back at start (`durableOnSink`): it puts back whatever the database lost.
 */
export type SyncNeed = 'now' | 'later' | 'none';

export function syncNeed(name: WriteName, args: readonly unknown[]): SyncNeed {
  // A rate-limit count lost in a crash only forgets requests already served.
  if (name === 'rememberProof' || name === 'hitRateLimit') return 'later';
  if (name === 'appendJournal') return 'none';
  if (name === 'insertAuditEntries') {
    const [, effects, options] = args as WriteArgs<'insertAuditEntries'>;
    const covered = options?.durableOnSink === true;
    return covered && Array.isArray(effects) && effects.length === 0 ? 'none' : 'now';
  }
  return 'now';
}

export function isWriteName(name: unknown): name is WriteName {
  return typeof name === 'string' && Object.hasOwn(WRITES, name);
}

/** Runs one write by name; the caller provides the transaction it runs in. */
export function runWrite<N extends WriteName>(
  writers: Writers,
  name: N,
  args: WriteArgs<N>,
): WriteResult<N> {
  const work = WRITES[name] as unknown as (w: Writers, ...a: WriteArgs<N>) => WriteResult<N>;
  return work(writers, ...args);
}

/** How many write transactions committed how many write requests (group commit). */
export interface WriteStats {
  readonly transactions: number;
  readonly requests: number;
  /** Of the transactions, how many committed without fsync (`syncNeed`). */
  readonly unsynced: number;
}

/** Where a store's writes run: inline (in-memory store) or in the writer thread (file). */
export interface WriteRunner {
  /** With `journal`: its line is appended first, and the write is not made if that fails. */
  run<N extends WriteName>(
    name: N,
    args: WriteArgs<N>,
    journal?: JournalWrite,
  ): Promise<WriteResult<N>>;
  stats(): WriteStats;
  /** Calls `fn` with the duration of each durable (fsynced) write, in seconds; writer thread only. */
  observeSync?(fn: (seconds: number) => void): void;
  /** Lets queued writes finish, then releases what runs them. */
  close(): Promise<void>;
}
