/**
 * The audit half of the SQLite store: appending to the hash chain (head read and insert
 * under one write lock, so appenders in any connection or process never fork it), listing
 * with filters, reading in batches, unfinished invocations and signed checkpoints. No
 * method updates or deletes an entry. Synchronous; `SqliteStore` runs it behind its guard.
 */
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { InvalidArgumentError } from '../base/errors.js';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import {
  AUDIT_AFTER_SQL,
  AUDIT_BATCH,
  AUDIT_COLUMNS,
  type ListParams,
  UNFINISHED_SQL,
  auditQuery,
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
import type { AuditCheckpoint } from './store.js';

interface AuditStatements {
  auditHead: Statement<[], { seq: number; hash: string }>;
  insertAudit: Statement<[AuditRow]>;
  auditAfter: Statement<[{ after: number; limit: number }], AuditRow>;
  unfinished: Statement<[], AuditRow>;
  auditEntryIs: Statement<[{ seq: number; hash: string }], number>;
  insertCheckpoint: Statement<[AuditCheckpoint]>;
  latestCheckpoint: Statement<[], AuditCheckpoint>;
}

function prepare(db: Db): AuditStatements {
  return {
    auditHead: db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
    insertAudit: db.prepare(`
      INSERT INTO audit (${AUDIT_COLUMNS})
      VALUES (@seq, @ts, @type, @actor, @principal, @ac_id, @invocation_id, @connector,
        @target, @outcome, @detail, @prev, @hash)`),
    auditAfter: db.prepare(AUDIT_AFTER_SQL),
    unfinished: db.prepare(UNFINISHED_SQL),
    auditEntryIs: db
      .prepare<[{ seq: number; hash: string }], number>(
        'SELECT EXISTS (SELECT 1 FROM audit WHERE seq = @seq AND hash = @hash)',
      )
      .pluck(),
    insertCheckpoint: db.prepare(`
      INSERT INTO audit_checkpoints (seq, hash, ts, jws) VALUES (@seq, @hash, @ts, @jws)
      ON CONFLICT (seq) DO NOTHING`),
    latestCheckpoint: db.prepare(
      'SELECT seq, hash, ts, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
    ),
  };
}

/** The `Store` methods on the audit trail, synchronous, with the same contracts. */
export class SqliteAudit {
  readonly #db: Db;
  readonly #stmts: AuditStatements;
  readonly #append: Transaction<(fields: AuditFields) => AuditEntry>;
  readonly #appendBatch: Transaction<(list: readonly AuditFields[]) => AuditEntry[]>;
  readonly #insertEntries: Transaction<(entries: readonly AuditEntry[], then: () => void) => void>;
  readonly #insertCheckpoint: Transaction<(checkpoint: AuditCheckpoint) => void>;
  /** listAudit statements by the set of filters used; the SQL text is ours, values bound. */
  readonly #list = new Map<string, Statement<[ListParams], AuditRow>>();

  constructor(db: Db) {
    this.#db = db;
    this.#stmts = prepare(db);
    const s = this.#stmts;
    // Reading the head and inserting after it under one write lock: two appenders (here or
    // in another process) serialise, so each seq is taken once and every prev is the
    // hash of the entry just before it.
    this.#append = db.transaction((fields: AuditFields): AuditEntry => {
      const { rows, entries } = chainAfter(s.auditHead.get(), [fields]);
      for (const row of rows) s.insertAudit.run(row);
      return entries[0] as AuditEntry;
    });
    // Nested calls of a transaction function become savepoints: one commit for the batch.
    this.#appendBatch = db.transaction((list: readonly AuditFields[]): AuditEntry[] =>
      list.map((fields) => this.#append(fields)),
    );
    // Entries chained by the caller: re-chained here from their fields after the head read
    // under the write lock, and stored only if that gives exactly the caller's seqs and
    // hashes, so a stale head or an entry whose hash does not cover its fields never lands.
    this.#insertEntries = db.transaction(
      (entries: readonly AuditEntry[], then: () => void): void => {
        for (const row of rechain(s.auditHead.get(), entries)) s.insertAudit.run(row);
        then();
      },
    );
    this.#insertCheckpoint = db.transaction((checkpoint: AuditCheckpoint): void => {
      // A checkpoint vouches for an entry; one naming an entry that is not there is a bug.
      if (s.auditEntryIs.get(checkpoint) !== 1) {
        throw new InvalidArgumentError('audit checkpoint');
      }
      s.insertCheckpoint.run(checkpoint);
    });
  }

  append(event: AuditEvent, ts: string): AuditEntry {
    return this.#append.immediate(auditFields(event, ts));
  }

  appendBatch(events: readonly AuditEvent[], ts: string): AuditEntry[] {
    return this.#appendBatch.immediate(events.map((event) => auditFields(event, ts)));
  }

  /**
   * Stores entries the caller chained (see `Store.insertAuditEntries`), then runs `then`
   * (the effects) in the same transaction: all or nothing.
   */
  insertEntries(entries: readonly AuditEntry[], then: () => void = () => undefined): void {
    this.#insertEntries.immediate(entries, then);
  }

  head(): { seq: number; hash: string } | undefined {
    return this.#stmts.auditHead.get();
  }

  list(filter: AuditFilter): AuditEntry[] {
    const { key, sql, params } = auditQuery(filter);
    let stmt = this.#list.get(key);
    if (stmt === undefined) {
      stmt = this.#db.prepare<[ListParams], AuditRow>(sql);
      this.#list.set(key, stmt);
    }
    return stmt.all(params).map(fromAuditRow);
  }

  /** Up to AUDIT_BATCH rows with seq > `after`, by seq; rows, so the caller maps them lazily. */
  rowsAfter(after: number): AuditRow[] {
    return this.#stmts.auditAfter.all({ after, limit: AUDIT_BATCH });
  }

  unfinished(): AuditEntry[] {
    return this.#stmts.unfinished.all().map(fromAuditRow);
  }

  insertCheckpoint(checkpoint: AuditCheckpoint): void {
    this.#insertCheckpoint.immediate(checkpointRow(checkpoint));
  }

  latestCheckpoint(): AuditCheckpoint | undefined {
    return this.#stmts.latestCheckpoint.get();
  }
}
