/**
 * PostgreSQL stopped under a replica mid-traffic (issue #14, faults): while it is down,
 * every invocation fails closed with a stable code and no credential reaches the target
 * (sshd sees no session: the audit's invoke_start could not be made durable, so no backend
 * was asked); once it is back, the same broker process serves again without a restart, and
 * the trail verifies, holding every invocation the client saw acknowledged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';
import { type ReplicaPair, startReplicas } from '../helpers/replicas.js';

const SSH = {
  connector: 'ssh',
  target: '127.0.0.1',
  capabilities: ['exec'],
  duration_seconds: 300,
};

/** Sessions sshd accepted with a certificate, as its log says (one line per login). */
function certLogins(pair: ReplicaPair): number {
  return (pair.sshd.log().match(/Accepted publickey for .* ID .*serial/g) ?? []).length;
}

describe('a PostgreSQL outage under a replica', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  let pair: ReplicaPair;

  before(async () => {
    cluster = await startPostgres();
    pair = await startReplicas(await cluster.createDatabase());
  });
  after(async () => {
    await pair?.stop();
    await cluster?.stop();
  });

  it('fails closed while it is down, and serves again once it is back, without a restart', async () => {
    const [a] = pair.replicas;
    const client = pair.client(0, pair.alice);
    const issued = await client.authorize({ accord: 'ssh-ops', ...SSH });
    assert.equal(issued.status, 'active');
    const token = issued.status === 'active' ? issued.ac : '';
    const invoke = (word: string) =>
      client.invoke('ssh', token, { target: '127.0.0.1', operation: { argv: ['echo', word] } });
    assert.equal((await invoke('before')).result.stdout, 'before\n');
    const pid = a.broker.child.pid;
    const loginsBefore = certLogins(pair);
    assert.ok(loginsBefore >= 1, 'the control: sshd logs a certificate login');

    await cluster.down();
    const codes = new Set<string>();
    for (let i = 0; i < 5; i++) {
      await assert.rejects(invoke(`during ${i}`), (err: unknown) => {
        assert.ok(err instanceof BrokerError, String(err));
        assert.equal(err.status, 503, err.code);
        codes.add(err.code);
        return true;
      });
    }
    assert.deepEqual(
      [...codes].filter((c) => !/^(store|audit)_unavailable$/.test(c)),
      [],
    );
    assert.equal(certLogins(pair), loginsBefore, 'no credential reached the target');

    await cluster.up();
    // The pool drops the connections the outage broke; a few calls may still meet one.
    let after: string | undefined;
    for (let attempt = 0; attempt < 20 && after === undefined; attempt++) {
      try {
        after = (await invoke('after')).result.stdout;
      } catch (err) {
        assert.ok(err instanceof BrokerError && err.status === 503, String(err));
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    assert.equal(after, 'after\n', 'served again');
    assert.equal(a.broker.child.pid, pid, 'by the same process');

    const { status, report } = pair.verify(0);
    assert.equal(status, 0, JSON.stringify(report.problems));
    const entries = await pair.client(0, pair.alice).audit({ limit: 1000 });
    const ends = entries.entries.filter((e) => e.type === 'invoke_end' && e.outcome === 'ok');
    assert.equal(ends.length, 2, 'the two acknowledged invocations are in the trail');
  });
});
