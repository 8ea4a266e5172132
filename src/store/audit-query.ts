/**
 * The audit trail's read queries as SQL both stores run: the column list, the filtered
 * listing and the unfinished-invocations query. Values are always bound, written as
 * `@name`; SQLite binds those names itself, PostgreSQL gets them numbered (`positional`).
 */
import { InvalidArgumentError } from '../base/errors.js';
import type { AuditEntry, AuditFilter } from '../base/audit-records.js';
import { AUDIT_TYPE_SET, type AuditRow, fromAuditRow } from './audit-row.js';
import { int, text } from './checks.js';

/** How many rows one batch of `iterateAudit` reads at most. */
export const AUDIT_BATCH = 500;

export const AUDIT_COLUMNS =
  'seq, ts, type, actor, principal, ac_id, invocation_id, connector, target, outcome, detail, prev, hash';

export const AUDIT_AFTER_SQL = `SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > @after ORDER BY seq LIMIT @limit`;

export const UNFINISHED_SQL = `
  SELECT ${AUDIT_COLUMNS} FROM audit AS s
  WHERE s.type = 'invoke_start' AND s.invocation_id IS NOT NULL
    AND NOT EXISTS (
      SELECT 1 FROM audit AS e
      WHERE e.invocation_id = s.invocation_id
        AND e.type IN ('invoke_end', 'invoke_interrupted'))
  ORDER BY s.seq`;

const AUDIT_DEFAULT_LIMIT = 100;
const AUDIT_MAX_LIMIT = 1000;
const YEAR_10000 = Date.UTC(10000, 0, 1);

export type ListParams = Record<string, string | number>;

/** The SQL for one combination of filters, a cache key naming that combination, and its values. */
export function auditQuery(filter: AuditFilter): { key: string; sql: string; params: ListParams } {
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

/**
 * `sql` with each `@name` replaced by `$1`, `$2`, … and the values in that order, for a
 * driver that binds by position. The SQL text is ours; no value is ever spliced into it.
 */
export function positional(
  sql: string,
  params: Readonly<Record<string, unknown>>,
): { text: string; values: unknown[] } {
  const names: string[] = [];
  const out = sql.replace(/@([a-z_][a-z0-9_]*)/g, (_, name: string) => {
    if (!Object.hasOwn(params, name)) throw new TypeError('unbound SQL parameter');
    let at = names.indexOf(name);
    if (at < 0) at = names.push(name) - 1;
    return `$${at + 1}`;
  });
  return { text: out, values: names.map((name) => params[name]) };
}

/**
 * Every entry with seq > `afterSeq`, read by `readAfter` (up to AUDIT_BATCH rows after a
 * seq) one short read per batch: nothing is held open between batches, and entries
 * appended meanwhile appear. `Store.iterateAudit` for both stores.
 */
export async function* auditBatches(
  afterSeq: number,
  readAfter: (after: number) => Promise<AuditRow[]>,
): AsyncIterable<AuditEntry> {
  let after = int(afterSeq, 'audit seq');
  for (;;) {
    const rows = await readAfter(after);
    for (const row of rows) yield fromAuditRow(row);
    const last = rows.at(-1);
    if (last === undefined || rows.length < AUDIT_BATCH) return;
    after = last.seq;
  }
}
