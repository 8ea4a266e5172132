/**
 * Replica leases on PostgreSQL: each broker replica renews a row while it runs, so that a
 * replica starting can tell an invocation cut off by a dead replica (lease run out: mark
 * it interrupted) from one a live replica is still running (leave it); a sweep deletes the
 * leases that ran out, so that one sweeper marks each dead replica's invocations.
 */
import { int, text } from './checks.js';
import { type Queryable, run } from './postgres-tx.js';

export class PgLeases {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async renew(replicaId: string, until: number): Promise<void> {
    await run(
      this.#db,
      `INSERT INTO replicas (replica_id, lease_until) VALUES ($1, $2)
       ON CONFLICT (replica_id) DO UPDATE SET lease_until = EXCLUDED.lease_until`,
      [text(replicaId, 'replica id'), int(until, 'lease end')],
    );
  }

  /** Deletes the leases that ended before `before`; their replica ids (one deleter each). */
  async expire(before: number): Promise<string[]> {
    const { rows } = await run<{ replica_id: string }>(
      this.#db,
      'DELETE FROM replicas WHERE lease_until < $1 RETURNING replica_id',
      [int(before, 'lease time')],
    );
    return rows.map((r) => r.replica_id);
  }

  async live(now: number): Promise<string[]> {
    const { rows } = await run<{ replica_id: string }>(
      this.#db,
      'SELECT replica_id FROM replicas WHERE lease_until >= $1 ORDER BY replica_id',
      [int(now, 'lease time')],
    );
    return rows.map((r) => r.replica_id);
  }
}
