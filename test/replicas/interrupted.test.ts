/**
 * Interrupted invocations with two replicas on one PostgreSQL: replica B restarting while
 * replica A runs an invocation leaves it alone (A's lease is current); once A is killed
 * with `kill -9` and its lease has run out, B starting marks it interrupted, once, and the
 * shared chain still verifies.
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

describe('a replica killed mid-invocation', { skip: skipWithoutPostgres() }, () => {
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

  const entriesOf = async (invocationId: string): Promise<string[]> => {
    const { rows } = await admin.query<{ type: string }>(
      'SELECT type FROM audit WHERE invocation_id = $1 ORDER BY seq',
      [invocationId],
    );
    return rows.map((r) => r.type);
  };

  it('is left alone while its replica lives, and marked by the other once it is gone', async (t) => {
    const [a] = pair.replicas;
    const held = await holdInvocation(pair, t.signal);
    try {
      const { rows } = await admin.query<{ invocation_id: string; detail: string }>(
        `SELECT invocation_id, detail FROM audit WHERE type = 'invoke_start' AND ac_id = $1`,
        [held.acId],
      );
      const start = rows[0];
      assert.ok(start !== undefined && rows.length === 1);
      const replicaA = replicaIdOf(a);
      assert.equal((JSON.parse(start.detail) as { replica?: string }).replica, replicaA);

      // B restarts while A runs the invocation: A's lease is current, so it is not B's to mark.
      await pair.replicas[1].broker.stop();
      await pair.start(1);
      assert.deepEqual(await entriesOf(start.invocation_id), ['invoke_start', 'credential_issue']);

      assert.equal(await a.broker.stop('SIGKILL'), null);
      assert.ok((await held.outcome) instanceof Error, 'the caller saw the connection drop');
      // B restarting before A's lease runs out still leaves it: A might only be slow.
      await pair.replicas[1].broker.stop();
      await pair.start(1);
      assert.deepEqual(await entriesOf(start.invocation_id), ['invoke_start', 'credential_issue']);

      // The lease runs out (set in the database rather than waited for), then B starts.
      await admin.query('UPDATE replicas SET lease_until = 0 WHERE replica_id = $1', [replicaA]);
      await pair.replicas[1].broker.stop();
      await pair.start(1);
      assert.deepEqual(await entriesOf(start.invocation_id), [
        'invoke_start',
        'credential_issue',
        'invoke_interrupted',
      ]);
      const { status, report } = pair.verify(1);
      assert.deepEqual(report.problems, []);
      assert.equal(status, 0);
    } finally {
      held.release();
    }
  });
});
