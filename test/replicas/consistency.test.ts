/**
 * Two real `bastion serve` replicas on one real PostgreSQL 15 database, behind one public
 * URL: a DPoP proof spent on one is refused by the other; approvals collected on both add
 * up; a once-only transition (activation, revocation) raced from both happens once; a
 * revocation on one stops the next invocation on the other, even with the AC in that
 * replica's verified-AC cache; concurrent invocations on both leave one audit chain that
 * `bastion audit verify` passes and that holds every acknowledged invocation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BastionClient, BrokerError } from '../../src/client/client.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';
import { PUBLIC_URL, type ReplicaPair, startReplicas } from '../helpers/replicas.js';

const SSH = {
  connector: 'ssh',
  target: '127.0.0.1',
  capabilities: ['exec'],
  duration_seconds: 300,
};

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BrokerError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('two broker replicas on one PostgreSQL', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  let pair: ReplicaPair;
  let databaseUrl: string;

  before(async () => {
    cluster = await startPostgres();
    databaseUrl = await cluster.createDatabase();
    pair = await startReplicas(databaseUrl, 20);
  });
  after(async () => {
    await pair?.stop();
    await cluster?.stop();
  });

  it('refuses on B a DPoP proof A accepted (one replay cache)', async () => {
    const [a, b] = pair.replicas;
    let sent: { path: string; init: RequestInit | undefined } | undefined;
    const recording = new BastionClient({
      url: PUBLIC_URL,
      key: pair.alice,
      fetch: (input, init) => {
        const path = String(input instanceof Request ? input.url : input).slice(PUBLIC_URL.length);
        sent = { path, init };
        return fetch(a.broker.url + path, init);
      },
    });
    await recording.accords();
    assert.ok(sent !== undefined);
    const replayed = await fetch(b.broker.url + sent.path, sent.init);
    assert.equal(replayed.status, 401);
    const body = (await replayed.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'dpop_replayed');
    // A fresh proof of the same key is accepted by B: only the spent jti was refused.
    await pair.client(1, pair.alice).accords();
  });

  it('adds up M-of-N approvals collected on different replicas', async () => {
    const asked = await pair.client(0, pair.alice).authorize({ accord: 'ssh-approved', ...SSH });
    assert.equal(asked.status, 'pending_approval');
    const [first, second] = pair.approvers;
    assert.ok(first && second);
    const one = await pair.client(0, first).approve(asked.ac_id);
    assert.equal(one.status, 'pending_approval');
    const two = await pair.client(1, second).approve(asked.ac_id);
    assert.equal(two.status, 'active');
    assert.equal((await pair.client(0, pair.alice).show(asked.ac_id)).status, 'active');
    assert.equal((await pair.client(0, pair.alice).show(asked.ac_id)).approvals?.length, 2);
  });

  it('activates and revokes once when 20 requests race on both replicas', async () => {
    const admin = await cluster.admin(new URL(databaseUrl).pathname.slice(1));
    try {
      // Counts every write that makes an AC active, as the database sees it.
      await admin.query(`CREATE TABLE activations_seen (ac_id TEXT NOT NULL);
        CREATE FUNCTION note_activation() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO activations_seen VALUES (NEW.ac_id); RETURN NEW; END $$;
        CREATE TRIGGER acs_activation AFTER UPDATE ON acs FOR EACH ROW
          WHEN (NEW.state = 'active')
          EXECUTE FUNCTION note_activation();`);
      const asked = await pair
        .client(0, pair.alice)
        .authorize({ accord: 'ssh-one-approval', ...SSH });
      assert.equal(asked.status, 'pending_approval');
      const approvals = await Promise.all(
        pair.approvers.map((key, i) =>
          refusal(pair.client((i % 2) as 0 | 1, key).approve(asked.ac_id)),
        ),
      );
      assert.ok(approvals.includes('accepted'), approvals.join());
      for (const r of approvals) assert.match(r, /^(accepted|ac_not_pending|already_approved)$/);
      const seen = await admin.query('SELECT ac_id FROM activations_seen WHERE ac_id = $1', [
        asked.ac_id,
      ]);
      assert.equal(seen.rowCount, 1, 'exactly one activation');
      assert.equal((await pair.client(1, pair.alice).show(asked.ac_id)).status, 'active');

      const revocations = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          refusal(pair.client((i % 2) as 0 | 1, pair.alice).revoke(asked.ac_id)),
        ),
      );
      assert.equal(revocations.filter((r) => r === 'accepted').length, 1, revocations.join());
      assert.equal(revocations.filter((r) => r === 'ac_already_revoked').length, 19);
    } finally {
      await admin.end();
    }
  });

  it('stops the next invocation on B once A revoked the AC, though B has it cached', async () => {
    const issued = await pair.client(0, pair.alice).authorize({ accord: 'ssh-ops', ...SSH });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    const onB = pair.client(1, pair.alice);
    const body = { target: '127.0.0.1', operation: { argv: ['true'] } };
    // Verified on B, so B's verified-AC cache holds it.
    assert.equal((await onB.invoke('ssh', issued.ac, body)).result.exit_code, 0);
    await pair.client(0, pair.alice).revoke(issued.ac_id);
    assert.equal(await refusal(onB.invoke('ssh', issued.ac, body)), 'ac_revoked');
  });

  it('keeps one audit chain under concurrent invocations on both replicas', async () => {
    const issued = await pair.client(0, pair.alice).authorize({ accord: 'ssh-ops', ...SSH });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    // 8 at once: below sshd's MaxStartups (10), so that no connection is dropped for load.
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pair
          .client((i % 2) as 0 | 1, pair.alice)
          .invoke('ssh', issued.ac, { target: '127.0.0.1', operation: { argv: ['echo', `${i}`] } }),
      ),
    );
    for (const [i, reply] of replies.entries()) assert.equal(reply.result.stdout, `${i}\n`);
    const admin = await cluster.admin(new URL(databaseUrl).pathname.slice(1));
    try {
      for (const reply of replies) {
        const { rows } = await admin.query<{ type: string }>(
          'SELECT type FROM audit WHERE invocation_id = $1 ORDER BY seq',
          [reply.invocation_id],
        );
        assert.deepEqual(
          rows.map((r) => r.type),
          ['invoke_start', 'credential_issue', 'credential_discard', 'invoke_end'],
        );
      }
    } finally {
      await admin.end();
    }
    for (const which of [0, 1] as const) {
      const { status, report } = pair.verify(which);
      assert.deepEqual(report.problems, []);
      assert.equal(status, 0);
    }
    // Each replica signs a last checkpoint as it stops; the chain still verifies.
    for (const r of pair.replicas) assert.equal(await r.broker.stop(), 0);
    const { status, report } = pair.verify(0);
    assert.deepEqual(report.problems, []);
    assert.equal(status, 0);
  });
});
