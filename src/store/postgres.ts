/**
 * The `Store` on PostgreSQL, for several broker replicas sharing one truth. This class owns
 * the pool's life (open, close) and the guard every call passes through; the work is in
 * `PgAcs` (authorization state) and `PgAudit` (the audit trail), which share their checks,
 * row shapes and chaining with the SQLite store. Options are in postgres-open.ts.
 */
import type { Pool } from 'pg';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import { auditBatches } from './audit-query.js';
import { effectCalls } from './effects.js';
import { StoreClosedError } from './errors.js';
import { PgAcs } from './postgres-acs.js';
import { PgAudit } from './postgres-audit.js';
import { type PostgresStoreOptions, openPool } from './postgres-open.js';
import { transaction } from './postgres-tx.js';
import type {
  AcFilter,
  AcRecord,
  Approval,
  AuditCheckpoint,
  InsertAuditOptions,
  Store,
  StoreEffect,
} from './store.js';

export type { PostgresStoreOptions } from './postgres-open.js';

export class PostgresStore implements Store {
  readonly #pool: Pool;
  readonly #acs: PgAcs;
  readonly #audit: PgAudit;
  #closing: Promise<void> | undefined;

  /** Connects, migrates (once, under an advisory lock) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    return new PostgresStore(await openPool(options));
  }

  private constructor(pool: Pool) {
    this.#pool = pool;
    this.#acs = new PgAcs(pool);
    this.#audit = new PgAudit(pool);
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

  listAcs(filter: AcFilter): Promise<AcRecord[]> {
    return this.#call(() => this.#acs.listAcs(filter));
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
    return this.#call(() =>
      transaction(this.#pool, (client) => new PgAcs(client).revokeAc(acId, by, at, expiresAt)),
    );
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
    return this.#call(() => transaction(this.#pool, (client) => new PgAcs(client).cleanup(now)));
  }

  appendAudit(event: AuditEvent, ts: string): Promise<AuditEntry> {
    return this.#call(() => this.#audit.append(event, ts));
  }

  appendAuditBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.appendBatch(events, ts));
  }

  /**
   * `options.durableOnSink` is ignored: a PostgreSQL commit is durable as the server is
   * configured (synchronous_commit), and the broker has no cheaper commit to choose.
   */
  insertAuditEntries(
    entries: readonly AuditEntry[],
    effects: readonly StoreEffect[] = [],
    _options: InsertAuditOptions = {},
  ): Promise<void> {
    return this.#call(() =>
      this.#audit.insertEntries(entries, async (client) => {
        for (const call of effectCalls(effects, new PgAcs(client))) await call();
      }),
    );
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
    return this.#call(() => this.#audit.insertCheckpoint(checkpoint));
  }

  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return this.#call(() => this.#audit.latestCheckpoint());
  }

  /** Lets running calls finish, then closes every connection; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }

  /** Runs `work` unless the store is closed; a synchronous throw becomes a rejection. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) throw new StoreClosedError();
    return work();
  }
}
