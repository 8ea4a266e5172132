/**
 * The embedded `Store`: SQLite through better-sqlite3. This class owns the connections'
 * life (open, close) and the guard every call passes through; the work is in `SqliteAcs`
 * (authorization state) and `SqliteAudit` (the audit trail). Reads run on this thread's
 * connection (synchronous, but a WAL read neither waits for the writer nor fsyncs); writes
 * go through a `WriteRunner`: for a file, one writer thread with its own connection that
 * group-commits them (sqlite-writer.ts), so no fsync runs on the event loop.
 */
import type { Database as Db } from 'better-sqlite3';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import { auditBatches } from './audit-query.js';
import { StoreClosedError } from './errors.js';
import { LocalNotifier } from './local-notify.js';
import { SqliteAcs } from './sqlite-acs.js';
import { SqliteAudit } from './sqlite-audit.js';
import { SqliteKeys } from './sqlite-keys.js';
import { mapCallError } from './sqlite-errors.js';
import { type SqliteStoreOptions, openDatabase, openMemoryDatabase } from './sqlite-open.js';
import { InlineWriter, WorkerWriter } from './sqlite-writer.js';
import type {
  WriteArgs,
  WriteName,
  WriteResult,
  WriteRunner,
  WriteStats,
} from './sqlite-writes.js';
import type {
  AcFilter,
  StoredAcState,
  AcRecord,
  Approval,
  AuditCheckpoint,
  InsertAuditOptions,
  JournalingStore,
  JournalWrite,
  NotificationHandler,
  StoreEffect,
  StoredSigningKey,
} from './store.js';
import { KEYS_CHANNEL, REVOCATIONS_CHANNEL } from './store.js';

export type { SqliteStoreOptions } from './sqlite-open.js';

export class SqliteStore implements JournalingStore {
  #db: Db | undefined;
  readonly #acs: SqliteAcs;
  readonly #audit: SqliteAudit;
  readonly #keys: SqliteKeys;
  readonly #notifier = new LocalNotifier();
  readonly #writer: WriteRunner;
  #closing: Promise<void> | undefined;

  /**
   * Opens (creating and migrating as needed) `<dataDir>/<fileName>`, and starts its writer
   * thread; this thread's connection is then read-only.
   */
  static open(options: SqliteStoreOptions): SqliteStore {
    return openDatabase(options, (db, file) => {
      db.pragma('query_only = ON'); // nothing writes here by mistake: writes are the worker's
      return new SqliteStore(db, () => new WorkerWriter(file));
    });
  }

  /** A private in-memory database, for tests; its writes run inline. */
  static memory(): SqliteStore {
    return openMemoryDatabase(
      (db) => new SqliteStore(db, (acs, audit, keys) => new InlineWriter({ acs, audit, keys })),
    );
  }

  private constructor(
    db: Db,
    writer: (acs: SqliteAcs, audit: SqliteAudit, keys: SqliteKeys) => WriteRunner,
  ) {
    this.#db = db;
    this.#acs = new SqliteAcs(db);
    this.#audit = new SqliteAudit(db);
    this.#keys = new SqliteKeys(db);
    this.#writer = writer(this.#acs, this.#audit, this.#keys);
  }

  /** How many write transactions committed how many write requests, since open. */
  writeStats(): WriteStats {
    return this.#writer.stats();
  }

  /** Test-only: kills a file store's writer thread as a crash would. */
  testOnlyTerminateWriter(): Promise<void> {
    return this.#writer instanceof WorkerWriter
      ? this.#writer.testOnlyTerminate()
      : Promise.resolve();
  }

  insertAc(record: AcRecord): Promise<void> {
    return this.#write('insertAc', record);
  }

  getAc(acId: string): Promise<AcRecord | undefined> {
    return this.#call(() => this.#acs.getAc(acId));
  }

  addApproval(acId: string, approverDid: string, at: number, comment?: string): Promise<boolean> {
    return this.#write('addApproval', acId, approverDid, at, comment);
  }

  denyAc(acId: string, by: string, at: number, comment?: string): Promise<boolean> {
    return this.#write('denyAc', acId, by, at, comment);
  }

  listApprovals(acId: string): Promise<Approval[]> {
    return this.#call(() => this.#acs.listApprovals(acId));
  }

  listAcs(filter: AcFilter): Promise<AcRecord[]> {
    return this.#call(() => this.#acs.listAcs(filter));
  }

  activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): Promise<boolean> {
    return this.#write('activateAc', acId, claims, expiresAt, at);
  }

  async revokeAc(acId: string, by: string, at: number, expiresAt: number): Promise<boolean> {
    const revoked = await this.#write('revokeAc', acId, by, at, expiresAt);
    if (revoked) this.#notifier.notify(REVOCATIONS_CHANNEL, acId);
    return revoked;
  }

  countAcs(state: StoredAcState): Promise<number> {
    return this.#call(() => this.#acs.countAcs(state));
  }

  observeSync(fn: (seconds: number) => void): void {
    this.#writer.observeSync?.(fn);
  }

  isRevoked(acId: string): Promise<boolean> {
    return this.#call(() => this.#acs.isRevoked(acId));
  }

  rememberProof(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.#write('rememberProof', jkt, jti, expiresAt);
  }

  noteKeyUse(kid: string, exp: number): Promise<void> {
    return this.#write('noteKeyUse', kid, exp);
  }

  keyLastExpiry(kid: string): Promise<number | undefined> {
    return this.#call(() => this.#acs.keyLastExpiry(kid));
  }

  cleanup(now: number): Promise<{ proofs: number; revocations: number }> {
    return this.#write('cleanup', now);
  }

  appendAudit(event: AuditEvent, ts: string): Promise<AuditEntry> {
    return this.#write('appendAudit', event, ts);
  }

  appendAuditBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]> {
    return this.#write('appendAuditBatch', events, ts);
  }

  insertAuditEntries(
    entries: readonly AuditEntry[],
    effects: readonly StoreEffect[] = [],
    options: InsertAuditOptions & { readonly journal?: JournalWrite | undefined } = {},
  ): Promise<void> {
    const { journal, ...rest } = options;
    return this.#journaled(journal, 'insertAuditEntries', entries, effects, rest);
  }

  appendJournal(journal: JournalWrite): Promise<void> {
    return this.#journaled(journal, 'appendJournal');
  }

  auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return this.#call(() => this.#audit.head());
  }

  listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.list(filter));
  }

  iterateAudit(afterSeq = 0): AsyncIterable<AuditEntry> {
    return auditBatches(afterSeq, (after) => this.#call(() => this.#audit.rowsAfter(after)));
  }

  unfinishedInvocations(): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.unfinished());
  }

  insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    return this.#write('insertCheckpoint', checkpoint);
  }

  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return this.#call(() => this.#audit.latestCheckpoint());
  }

  listSigningKeys(): Promise<StoredSigningKey[]> {
    return this.#call(() => this.#keys.listSigningKeys());
  }

  async insertSigningKey(
    key: StoredSigningKey,
    retiring: string | undefined,
    at: number,
  ): Promise<boolean> {
    const inserted = await this.#write('insertSigningKey', key, retiring, at);
    if (inserted) this.#notifier.notify(KEYS_CHANNEL, key.kid);
    return inserted;
  }

  hitRateLimit(key: string, windowStart: number, limit: number): Promise<number> {
    return this.#write('hitRateLimit', key, windowStart, limit);
  }

  notify(channel: string, payload: string): Promise<void> {
    return this.#call(() => this.#notifier.notify(channel, payload));
  }

  subscribe(channel: string, fn: NotificationHandler): Promise<() => Promise<void>> {
    return this.#call(() => this.#notifier.subscribe(channel, fn));
  }

  /**
   * Lets queued writes finish, stops the writer, then closes the database; idempotent.
   * Every other call from now on rejects.
   */
  close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    this.#notifier.clear();
    this.#closing ??= this.#writer.close().then(() => {
      db?.close();
    });
    return this.#closing;
  }

  #write<N extends WriteName>(name: N, ...args: WriteArgs<N>): Promise<WriteResult<N>> {
    return this.#journaled(undefined, name, ...args);
  }

  #journaled<N extends WriteName>(
    journal: JournalWrite | undefined,
    name: N,
    ...args: WriteArgs<N>
  ): Promise<WriteResult<N>> {
    if (this.#db === undefined) return Promise.reject(new StoreClosedError());
    return this.#writer.run(name, args, journal);
  }

  /**
   * Runs synchronous better-sqlite3 work now and hands back its outcome as a Promise; a
   * throw in the executor (closed store, bad argument, SQLite error) becomes a rejection.
   */
  #call<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.#db === undefined) throw new StoreClosedError();
      try {
        resolve(work());
      } catch (err) {
        throw mapCallError(err);
      }
    });
  }
}
