/**
 * The `Store` on PostgreSQL, for several broker replicas sharing one truth. This class owns
 * the pool's life (open, close) and the guard every call passes through; the work is in
 * `PgAcs` (authorization state) and `PgAudit` (the audit trail), which share their checks,
 * row shapes and chaining with the SQLite store. Options are in postgres-open.ts.
 */
import type { Pool, PoolClient } from 'pg';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import { auditBatches } from './audit-query.js';
import { effectCalls } from './effects.js';
import { StoreClosedError } from './errors.js';
import { PgAcs } from './postgres-acs.js';
import { PgAudit } from './postgres-audit.js';
import { PgKeys } from './postgres-keys.js';
import { PgListener } from './postgres-listen.js';
import { PgLeases } from './postgres-leases.js';
import { type PostgresStoreOptions, openPool } from './postgres-open.js';
import { run, transaction } from './postgres-tx.js';
import type {
  AcFilter,
  StoredAcState,
  AcRecord,
  Approval,
  AuditCheckpoint,
  AuditFields,
  InsertAuditOptions,
  NotificationHandler,
  Store,
  StoreEffect,
  StoredSigningKey,
} from './store.js';
import { channelName, payloadText } from './signing-keys.js';

export type { PostgresStoreOptions } from './postgres-open.js';

export class PostgresStore implements Store {
  readonly #pool: Pool;
  readonly #acs: PgAcs;
  readonly #audit: PgAudit;
  readonly #keys: PgKeys;
  readonly #listener: PgListener;
  readonly #leases: PgLeases;
  #closing: Promise<void> | undefined;

  /** Connects, migrates (once, under an advisory lock) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    return new PostgresStore(await openPool(options));
  }

  private constructor(pool: Pool) {
    this.#pool = pool;
    this.#acs = new PgAcs(pool);
    this.#audit = new PgAudit(pool);
    this.#keys = new PgKeys(pool);
    // The pool's own settings (URL, TLS, types, timeouts), on a connection of its own.
    this.#listener = new PgListener(pool.options);
    this.#leases = new PgLeases(pool);
  }

  insertAc(record: AcRecord): Promise<void> {
    return this.#call(() => this.#acs.insertAc(record));
  }

  getAc(acId: string): Promise<AcRecord | undefined> {
    return this.#call(() => this.#acs.getAc(acId));
  }

  addApproval(acId: string, approverDid: string, at: number, comment?: string): Promise<boolean> {
    return this.#call(() => this.#acs.addApproval(acId, approverDid, at, comment));
  }

  denyAc(acId: string, by: string, at: number, comment?: string): Promise<boolean> {
    return this.#call(() => this.#acs.denyAc(acId, by, at, comment));
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

  countAcs(state: StoredAcState): Promise<number> {
    return this.#call(() => this.#acs.countAcs(state));
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
    return this.#call(() =>
      transaction(this.#pool, async (client) => {
        await new PgKeys(client).deleteEndedWindows(now);
        return new PgAcs(client).cleanup(now);
      }),
    );
  }

  appendAudit(event: AuditEvent, ts: string): Promise<AuditEntry> {
    return this.#call(() => this.#audit.append(event, ts));
  }

  appendAuditBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.appendBatch(events, ts));
  }

  appendAuditChained(
    fields: readonly AuditFields[],
    effects: readonly StoreEffect[],
  ): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.appendFields(fields, this.#effects(effects)));
  }

  appendForUnfinished(
    make: (open: readonly AuditEntry[], expired: ReadonlySet<string>) => AuditEvent[],
    ts: string,
    expireBefore?: number,
  ): Promise<AuditEntry[]> {
    return this.#call(() => this.#audit.appendForUnfinished(make, ts, expireBefore));
  }

  renewLease(replicaId: string, until: number): Promise<void> {
    return this.#call(() => this.#leases.renew(replicaId, until));
  }

  liveReplicas(now: number): Promise<string[]> {
    return this.#call(() => this.#leases.live(now));
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
    return this.#call(() => this.#audit.insertEntries(entries, this.#effects(effects)));
  }

  /** The effects as one step of an audit transaction (an unknown one rolls it back). */
  #effects(effects: readonly StoreEffect[]): (client: PoolClient) => Promise<void> {
    return async (client) => {
      for (const call of effectCalls(effects, new PgAcs(client))) await call();
    };
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

  listSigningKeys(): Promise<StoredSigningKey[]> {
    return this.#call(() => this.#keys.listSigningKeys());
  }

  insertSigningKey(
    key: StoredSigningKey,
    retiring: string | undefined,
    at: number,
  ): Promise<boolean> {
    return this.#call(() =>
      transaction(this.#pool, (client) => new PgKeys(client).insertSigningKey(key, retiring, at)),
    );
  }

  hitRateLimit(key: string, windowStart: number, limit: number): Promise<number> {
    return this.#call(() => this.#keys.hitRateLimit(key, windowStart, limit));
  }

  notify(channel: string, payload: string): Promise<void> {
    return this.#call(async () => {
      await run(this.#pool, 'SELECT pg_notify($1, $2)', [
        channelName(channel),
        payloadText(payload),
      ]);
    });
  }

  subscribe(channel: string, fn: NotificationHandler): Promise<() => Promise<void>> {
    return this.#call(() => this.#listener.subscribe(channel, fn));
  }

  /** Lets running calls finish, then closes every connection; idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#listener.close(), this.#pool.end()]).then(() => undefined);
    return this.#closing;
  }

  /** Runs `work` unless the store is closed; a synchronous throw becomes a rejection. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) throw new StoreClosedError();
    return work();
  }
}
