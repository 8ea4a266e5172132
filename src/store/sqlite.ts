/**
 * The embedded `Store`: SQLite through better-sqlite3. better-sqlite3 is synchronous; the
 * methods are async only to match the interface that PostgreSQL will also implement. This
 * class owns the connection's life (open, close) and the guard every call passes through;
 * the work is in `SqliteAcs` (authorization state) and `SqliteAudit` (the audit trail).
 */
import type { Database as Db, Transaction } from 'better-sqlite3';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import { fromAuditRow } from './audit-row.js';
import { int } from './checks.js';
import { StoreClosedError } from './errors.js';
import { SqliteAcs } from './sqlite-acs.js';
import { AUDIT_BATCH, SqliteAudit } from './sqlite-audit.js';
import { mapCallError } from './sqlite-errors.js';
import { type SqliteStoreOptions, openDatabase, openMemoryDatabase } from './sqlite-open.js';
import { InvalidArgumentError } from '../base/errors.js';
import type { AcRecord, Approval, AuditCheckpoint, Store, StoreEffect } from './store.js';

export type { SqliteStoreOptions } from './sqlite-open.js';

export class SqliteStore implements Store {
  #db: Db | undefined;
  readonly #acs: SqliteAcs;
  readonly #audit: SqliteAudit;
  readonly #commitAudit: Transaction<
    (entries: readonly AuditEntry[], effects: readonly StoreEffect[]) => void
  >;

  /** Opens (creating and migrating as needed) `<dataDir>/<fileName>`. */
  static open(options: SqliteStoreOptions): SqliteStore {
    return openDatabase(options, (db) => new SqliteStore(db));
  }

  /** A private in-memory database, for tests. */
  static memory(): SqliteStore {
    return openMemoryDatabase((db) => new SqliteStore(db));
  }

  private constructor(db: Db) {
    this.#db = db;
    this.#acs = new SqliteAcs(db);
    this.#audit = new SqliteAudit(db);
    this.#commitAudit = db.transaction((entries, effects) => {
      this.#audit.insertEntries(entries);
      for (const effect of effects) this.#apply(effect);
    });
  }

  insertAc(record: AcRecord): Promise<void> {
    return this.#call(() => this.#acs.insertAc(record));
  }

  getAc(acId: string): Promise<AcRecord | undefined> {
    return this.#call(() => this.#acs.getAc(acId));
  }

  addApproval(acId: string, approverDid: string, at: number): Promise<boolean> {
    return this.#call(() => this.#acs.addApproval(acId, approverDid, at));
  }

  listApprovals(acId: string): Promise<Approval[]> {
    return this.#call(() => this.#acs.listApprovals(acId));
  }

  activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): Promise<boolean> {
    return this.#call(() => this.#acs.activateAc(acId, claims, expiresAt, at));
  }

  revokeAc(acId: string, by: string, at: number, expiresAt: number): Promise<boolean> {
    return this.#call(() => this.#acs.revokeAc(acId, by, at, expiresAt));
  }

  isRevoked(acId: string): Promise<boolean> {
    return this.#call(() => this.#acs.isRevoked(acId));
  }

  rememberProof(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.#call(() => this.#acs.rememberProof(jkt, jti, expiresAt));
  }

  noteKeyUse(kid: string, exp: number): Promise<void> {
    return this.#call(() => this.#acs.noteKeyUse(kid, exp));
  }

  keyLastExpiry(kid: string): Promise<number | undefined> {
    return this.#call(() => this.#acs.keyLastExpiry(kid));
  }

  cleanup(now: number): Promise<{ proofs: number; revocations: number }> {
    return this.#call(() => this.#acs.cleanup(now));
  }

  appendAudit(event: AuditEvent, ts: string): Promise<AuditEntry> {
    return this.#call(() => this.#audit.append(event, ts));
  }

  appendAuditBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.appendBatch(events, ts));
  }

  insertAuditEntries(
    entries: readonly AuditEntry[],
    effects: readonly StoreEffect[] = [],
  ): Promise<void> {
    return this.#call(() => this.#commitAudit.immediate(entries, effects));
  }

  #apply(effect: StoreEffect): void {
    switch (effect.kind) {
      case 'insert_ac':
        return this.#acs.insertAc(effect.record);
      case 'note_key_use':
        return this.#acs.noteKeyUse(effect.kid, effect.exp);
      default:
        throw new InvalidArgumentError('store effect');
    }
  }

  auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return this.#call(() => this.#audit.head());
  }

  listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.list(filter));
  }

  async *iterateAudit(afterSeq = 0): AsyncIterable<AuditEntry> {
    let after = int(afterSeq, 'audit seq');
    for (;;) {
      // One short read per batch: no read transaction is held open between batches.
      const rows = await this.#call(() => this.#audit.rowsAfter(after));
      for (const row of rows) yield fromAuditRow(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < AUDIT_BATCH) return;
      after = last.seq;
    }
  }

  unfinishedInvocations(): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.unfinished());
  }

  insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    return this.#call(() => this.#audit.insertCheckpoint(checkpoint));
  }

  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return this.#call(() => this.#audit.latestCheckpoint());
  }

  /** Closes the database; idempotent. Every other call afterwards rejects. */
  close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    return new Promise((resolve) => {
      db?.close();
      resolve();
    });
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
