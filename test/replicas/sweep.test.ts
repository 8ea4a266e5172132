/**
 * The periodic sweep with two replicas on one PostgreSQL: replica A is killed with
 * `kill -9` mid-invocation; once its lease has run out, replica B — running all along, never
 * restarted — marks the invocation interrupted at its next sweep, once, and the shared
 * chain still verifies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';
import {
  holdInvocation,
  replicaIdOf,
  type ReplicaPair,
  startReplicas,
} from '../helpers/replicas.js';

describe('a replica killed mid-invocation, swept', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  let pair: ReplicaPair;
  let admin: pg.Client;

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    pair = await startReplicas(url);
    admin = await cluster.admin(new URL(url).pathname.slice(1));
  });
  after(async () => {
    await admin?.end();
    await pair?.stop();
    await cluster?.stop();
  });

  it('is marked interrupted by the surviving replica, without a restart', async (t) => {
    const [a, b] = pair.replicas;
    const held = await holdInvocation(pair, t.signal);
    try {
      const { rows } = await admin.query<{ invocation_id: string }>(
        `SELECT invocation_id FROM audit WHERE type = 'invoke_start' AND ac_id = $1`,
        [held.acId],
      );
      const invocationId = rows[0]?.invocation_id;
      assert.ok(invocationId !== undefined && rows.length === 1);
      const replicaA = replicaIdOf(a);

      assert.equal(await a.broker.stop('SIGKILL'), null);
      assert.ok((await held.outcome) instanceof Error, 'the caller saw the connection drop');
      const bPid = b.broker.child.pid;
      // B's next sweep after A's lease has run out (set in the database rather than waited for).
      const swept = b.broker.nextLog(/gone without a clean stop/);
      await admin.query('UPDATE replicas SET lease_until = 0 WHERE replica_id = $1', [replicaA]);
      assert.match(await swept, /"interrupted":1/);
      assert.equal(b.broker.child.pid, bPid, 'the same process: no restart');

      const { rows: entries } = await admin.query<{ type: string }>(
        'SELECT type FROM audit WHERE invocation_id = $1 ORDER BY seq',
        [invocationId],
      );
      assert.deepEqual(
        entries.map((e) => e.type),
        ['invoke_start', 'credential_issue', 'invoke_interrupted'],
      );
      const { rows: all } = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM audit WHERE type = 'invoke_interrupted'`,
      );
      assert.equal(Number(all[0]?.n), 1, 'one record');
      const { status, report } = pair.verify(1);
      assert.deepEqual(report.problems, []);
      assert.equal(status, 0);
    } finally {
      held.release();
    }
  });
});
