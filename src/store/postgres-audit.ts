/**
 * The audit half of the PostgreSQL store: appending to the hash chain, listing, reading in
 * batches, unfinished invocations and checkpoints, with the SQLite store's checks and
 * chaining (audit-row.ts, audit-query.ts). Every append takes AUDIT_LOCK (an advisory lock
 * held to the end of its transaction) before it reads the head, so appenders on any
 * connection of any broker serialise and never fork the chain. No method updates or
 * deletes an entry.
 */
import type { Pool, PoolClient } from 'pg';
import { InvalidArgumentError } from '../base/errors.js';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import {
  AUDIT_AFTER_SQL,
  AUDIT_BATCH,
  AUDIT_COLUMNS,
  UNFINISHED_SQL,
  auditQuery,
  positional,
} from './audit-query.js';
import {
  type AuditFields,
  type AuditRow,
  auditFields,
  chainAfter,
  checkpointRow,
  fromAuditRow,
  rechain,
} from './audit-row.js';
import { AuditChainConflictError } from './errors.js';
import { AUDIT_LOCK } from './postgres-migrations.js';
import { PgLeases } from './postgres-leases.js';
import { type Queryable, run, transaction } from './postgres-tx.js';
import type { AuditCheckpoint } from './store.js';

const COLUMNS = AUDIT_COLUMNS.split(', ') as (keyof AuditRow)[];
const INSERT_AUDIT = `INSERT INTO audit (${AUDIT_COLUMNS})
  VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
const AUDIT_WRITE = { conflict: () => new AuditChainConflictError(), what: 'audit entry' };

/** The `Store` methods on the audit trail, on one pool. */
export class PgAudit {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async append(event: AuditEvent, ts: string): Promise<AuditEntry> {
    const [entry] = await this.appendBatch([event], ts);
    return entry as AuditEntry;
  }

  async appendBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]> {
    if (!(events instanceof Array)) throw new InvalidArgumentError('audit events');
    const list: AuditFields[] = events.map((event) => auditFields(event, ts));
    return this.appendFields(list, () => Promise.resolve());
  }

  /**
   * Chains checked events after the head read under the lock, inserts them, then runs
   * `then` (the effects) on the same transaction: all or nothing.
   */
  appendFields(
    list: readonly AuditFields[],
    then: (client: PoolClient) => Promise<void>,
  ): Promise<AuditEntry[]> {
    return this.#underLock(async (client, head) => {
      const { rows, entries } = chainAfter(head, list);
      await insertRows(client, rows);
      await then(client);
      return entries;
    });
  }

  /**
   * Stores entries the caller chained (see `Store.insertAuditEntries`), then runs `then`
   * (the effects) on the same transaction: all or nothing.
   */
  insertEntries(
    entries: readonly AuditEntry[],
    then: (client: PoolClient) => Promise<void>,
  ): Promise<void> {
    return this.#underLock(async (client, head) => {
      await insertRows(client, rechain(head, entries));
      await then(client);
    });
  }

  /**
   * Under the lock, deletes the leases that ended before `expireBefore` (when given), reads
   * the unfinished invocations and appends the events `make` turns them into: two replicas
   * starting or sweeping together cannot both mark one invocation.
   */
  appendForUnfinished(
    make: (open: readonly AuditEntry[], expired: ReadonlySet<string>) => AuditEvent[],
    ts: string,
    expireBefore?: number,
  ): Promise<AuditEntry[]> {
    return this.#underLock(async (client, head) => {
      const expired = new Set(
        expireBefore === undefined ? [] : await new PgLeases(client).expire(expireBefore),
      );
      if (expireBefore !== undefined && expired.size === 0) return [];
      const open = (await run<AuditRow>(client, UNFINISHED_SQL)).rows.map(fromAuditRow);
      const { rows, entries } = chainAfter(
        head,
        make(open, expired).map((event) => auditFields(event, ts)),
      );
      await insertRows(client, rows);
      return entries;
    });
  }

  async head(): Promise<{ seq: number; hash: string } | undefined> {
    return readHead(this.#pool);
  }

  async list(filter: AuditFilter): Promise<AuditEntry[]> {
    const { sql, params } = auditQuery(filter);
    const { text, values } = positional(sql, params);
    const { rows } = await run<AuditRow>(this.#pool, text, values);
    return rows.map(fromAuditRow);
  }

  /** Up to AUDIT_BATCH rows with seq > `after`, by seq. */
  async rowsAfter(after: number): Promise<AuditRow[]> {
    const { text, values } = positional(AUDIT_AFTER_SQL, { after, limit: AUDIT_BATCH });
    return (await run<AuditRow>(this.#pool, text, values)).rows;
  }

  async unfinished(): Promise<AuditEntry[]> {
    return (await run<AuditRow>(this.#pool, UNFINISHED_SQL)).rows.map(fromAuditRow);
  }

  async insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    const row = checkpointRow(checkpoint);
    // Entries are never deleted, so one found here stays: no lock needed between the two.
    const found = await run(this.#pool, 'SELECT 1 FROM audit WHERE seq = $1 AND hash = $2', [
      row.seq,
      row.hash,
    ]);
    // A checkpoint vouches for an entry; one naming an entry that is not there is a bug.
    if (found.rowCount !== 1) throw new InvalidArgumentError('audit checkpoint');
    await run(
      this.#pool,
      `INSERT INTO audit_checkpoints (seq, hash, ts, jws) VALUES ($1, $2, $3, $4)
       ON CONFLICT (seq) DO NOTHING`,
      [row.seq, row.hash, row.ts, row.jws],
    );
  }

  async latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    const { rows } = await run<AuditCheckpoint>(
      this.#pool,
      'SELECT seq, hash, ts, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
    );
    return rows[0];
  }

  /**
   * Runs `work` in a transaction that first takes AUDIT_LOCK and then reads the head: the
   * head it gets stays the head until this commits or rolls back.
   */
  #underLock<T>(
    work: (client: PoolClient, head: { seq: number; hash: string } | undefined) => Promise<T>,
  ): Promise<T> {
    return transaction(this.#pool, async (client) => {
      await run(client, 'SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      return work(client, await readHead(client));
    });
  }
}

async function readHead(db: Queryable): Promise<{ seq: number; hash: string } | undefined> {
  const { rows } = await run<{ seq: number; hash: string }>(
    db,
    'SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1',
  );
  return rows[0];
}

async function insertRows(client: PoolClient, rows: readonly AuditRow[]): Promise<void> {
  for (const row of rows) {
    await run(
      client,
      INSERT_AUDIT,
      COLUMNS.map((c) => row[c]),
      AUDIT_WRITE,
    );
  }
}
