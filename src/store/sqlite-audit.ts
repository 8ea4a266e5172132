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
  AUDIT_TYPE_SET,
  type AuditFields,
  type AuditRow,
  auditFields,
  chainAfter,
  fromAuditRow,
} from './audit-row.js';
import { AuditChainConflictError } from './errors.js';
import { hexHash, int, isoTs, text } from './checks.js';
import type { AuditCheckpoint } from './store.js';

/** How many rows one read of `rowsAfter` returns at most. */
export const AUDIT_BATCH = 500;

const AUDIT_COLUMNS =
  'seq, ts, type, actor, principal, ac_id, invocation_id, connector, target, outcome, detail, prev, hash';
const AUDIT_DEFAULT_LIMIT = 100;
const AUDIT_MAX_LIMIT = 1000;
const YEAR_10000 = Date.UTC(10000, 0, 1);

type ListParams = Record<string, string | number>;

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
    auditAfter: db.prepare(
      `SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > @after ORDER BY seq LIMIT @limit`,
    ),
    unfinished: db.prepare(`
      SELECT ${AUDIT_COLUMNS} FROM audit AS s
      WHERE s.type = 'invoke_start' AND s.invocation_id IS NOT NULL
        AND NOT EXISTS (
          SELECT 1 FROM audit AS e
          WHERE e.invocation_id = s.invocation_id
            AND e.type IN ('invoke_end', 'invoke_interrupted'))
      ORDER BY s.seq`),
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
        const fields = entries.map((entry) => auditFields(entry, entry.ts));
        const { rows } = chainAfter(s.auditHead.get(), fields);
        rows.forEach((row, i) => {
          if (row.seq !== entries[i]?.seq || row.hash !== entries[i]?.hash) {
            throw new AuditChainConflictError();
          }
          s.insertAudit.run(row);
        });
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
    if (!Array.isArray(entries)) throw new InvalidArgumentError('audit entries');
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
    const row: AuditCheckpoint = {
      seq: int(checkpoint.seq, 'audit checkpoint seq'),
      hash: hexHash(checkpoint.hash, 'audit checkpoint hash'),
      ts: isoTs(checkpoint.ts, 'audit checkpoint time'),
      jws: text(checkpoint.jws, 'audit checkpoint signature'),
    };
    this.#insertCheckpoint.immediate(row);
  }

  latestCheckpoint(): AuditCheckpoint | undefined {
    return this.#stmts.latestCheckpoint.get();
  }
}

/** The SQL for one combination of filters, a cache key naming that combination, and its values. */
function auditQuery(filter: AuditFilter): { key: string; sql: string; params: ListParams } {
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('audit filter');
  const limit = filter.limit === undefined ? AUDIT_DEFAULT_LIMIT : int(filter.limit, 'audit limit');
  if (limit === 0) throw new InvalidArgumentError('audit limit');
  const params: ListParams = {
    after: filter.after === undefined ? 0 : int(filter.after, 'audit seq'),
    limit: Math.min(limit, AUDIT_MAX_LIMIT),
  };
  const where = ['seq > @after'];
  const key: string[] = [];
  if (filter.type !== undefined) {
    if (!AUDIT_TYPE_SET.has(filter.type)) throw new InvalidArgumentError('audit type filter');
    params['type'] = filter.type;
    where.push('type = @type');
    key.push('type');
  }
  if (filter.ac_id !== undefined) {
    params['ac_id'] = text(filter.ac_id, 'audit ac_id filter');
    where.push('ac_id = @ac_id');
    key.push('ac_id');
  }
  if (filter.did !== undefined) {
    params['did'] = text(filter.did, 'audit DID filter');
    where.push('(actor = @did OR principal = @did)');
    key.push('did');
  }
  if (filter.since !== undefined) {
    // Normalised to the stored shape, so text order is time order.
    const ms = typeof filter.since === 'string' ? Date.parse(filter.since) : NaN;
    if (!Number.isFinite(ms)) throw new InvalidArgumentError('audit since filter');
    // Past year 9999 toISOString gives '+010000-…', which sorts before every stored time.
    params['since'] = ms >= YEAR_10000 ? '~' : new Date(ms).toISOString();
    where.push('ts >= @since');
    key.push('since');
  }
  return {
    key: key.join(','),
    sql: `SELECT ${AUDIT_COLUMNS} FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`,
    params,
  };
}
