/**
 * The AC listing as SQL both stores run (`Store.listAcs`): one query per combination of
 * filters, values always bound as `@name` (SQLite binds the names, PostgreSQL gets them
 * numbered by `positional`). No value is ever spliced into the text.
 */
import { InvalidArgumentError } from '../base/errors.js';
import type { ListParams } from './audit-query.js';
import { int, text } from './checks.js';
import type { AcFilter } from './store.js';

const AC_DEFAULT_LIMIT = 100;
const AC_MAX_LIMIT = 1000;
export const AC_STATES: ReadonlySet<string> = new Set(['pending_approval', 'active', 'revoked']);

/** The SQL for `filter`, a cache key naming its shape, and its values. */
export function acQuery(filter: AcFilter): { key: string; sql: string; params: ListParams } {
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('AC filter');
  const limit = filter.limit === undefined ? AC_DEFAULT_LIMIT : int(filter.limit, 'AC limit');
  if (limit === 0) throw new InvalidArgumentError('AC limit');
  const params: ListParams = { limit: Math.min(limit, AC_MAX_LIMIT) };
  const where: string[] = [];
  const key: string[] = [];
  if (filter.party !== undefined) {
    params['did'] = text(filter.party.did, 'AC party DID');
    params['jkt'] = text(filter.party.jkt, 'AC party key');
    where.push('(principal_did = @did OR cnf_jkt = @jkt)');
    key.push('party');
  }
  if (filter.state !== undefined) {
    if (!AC_STATES.has(filter.state)) throw new InvalidArgumentError('AC state filter');
    params['state'] = filter.state;
    where.push('state = @state');
    key.push('state');
  }
  if (filter.accords !== undefined) {
    const names = filter.accords.map((accord, i) => {
      params[`accord_${i}`] = text(accord, 'AC accord filter');
      return `@accord_${i}`;
    });
    where.push(names.length === 0 ? '1 = 0' : `accord IN (${names.join(', ')})`);
    key.push(`accords${names.length}`);
  }
  if (filter.undecidedBy !== undefined) {
    params['decider'] = text(filter.undecidedBy, 'AC decider DID');
    // A denied request is decided, whoever denied it.
    where.push(`principal_did <> @decider AND denied_at IS NULL AND NOT EXISTS (
      SELECT 1 FROM approvals AS a WHERE a.ac_id = acs.ac_id AND a.approver_did = @decider)`);
    key.push('undecided');
  }
  if (filter.requestedAfter !== undefined) {
    params['after'] = int(filter.requestedAfter, 'AC request time');
    where.push('requested_at > @after');
    key.push('after');
  }
  return {
    key: key.join(','),
    sql: `SELECT * FROM acs${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY requested_at DESC, ac_id LIMIT @limit`,
    params,
  };
}
