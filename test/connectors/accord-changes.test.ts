/**
 * An AC is only as good as its accord now: after the accord is removed or narrowed and the
 * configuration reloaded, a live AC's next invocation is refused with the rule it breaks,
 * before any credential exists, and the refusal is audited. A looser accord does not widen
 * an AC that was issued under a stricter one. Through the real broker, Bascule and sshd.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import type { BastionConfig } from '../../src/config/config.js';
import type { Accord } from '../../src/governance/accords.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';

describe('ACs follow changes to their accord', () => {
  let b: ConnectorBroker;
  let original: BastionConfig;
  before(async () => {
    b = await startConnectorBroker();
    original = b.server.config;
  });
  after(() => b.close());
  beforeEach(() => {
    b.server.reload(original);
  });

  /** The running configuration with accord `id` changed by `change` (or removed: null). */
  function reloadWith(id: string, change: ((a: Accord) => Accord) | null): void {
    const accords = original.accords.flatMap((a) =>
      a.id !== id ? [a] : change === null ? [] : [change(a)],
    );
    b.server.reload({
      ...original,
      accords,
      accordsById: new Map(accords.map((a) => [a.id, a])),
    });
  }

  const run = (token: string, argv: string[] = ['true']) =>
    b.client().invoke('bascule', token, { target: 'db1.internal.test', operation: { argv } });

  async function refusedWith(token: string, code: string, argv?: string[]): Promise<void> {
    const issued = b.spy.issued.length;
    await assert.rejects(
      run(token, argv),
      (e: unknown) => e instanceof BrokerError && e.status === 403 && e.code === code,
    );
    assert.equal(b.spy.issued.length, issued, `${code}: no credential was resolved`);
    const denies = await b.server.audit.list({ type: 'deny' });
    assert.equal(denies.at(-1)?.outcome, code, `${code}: the refusal is audited`);
  }

  it('invokes while the accord allows it (the control)', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    assert.equal((await run(ac.token)).result.exit_code, 0);
  });

  it('is refused once its accord is gone, and again allowed when it is back', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    reloadWith('bascule-ops', null);
    await refusedWith(ac.token, 'accord_changed');
    b.server.reload(original);
    assert.equal((await run(ac.token)).result.exit_code, 0);
  });

  it('is refused when its principal, connector, target or capability is taken out', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    const cases: [(a: Accord) => Accord, string][] = [
      [(a) => ({ ...a, principals: [b.agent.did] }), 'principal_not_allowed'],
      [(a) => ({ ...a, connectors: ['ssh'] }), 'connector_not_allowed'],
      [(a) => ({ ...a, targets: ['db2.internal.test'] }), 'target_not_allowed'],
      [(a) => ({ ...a, capabilities: ['read'] }), 'capability_not_granted'],
    ];
    for (const [change, code] of cases) {
      reloadWith('bascule-ops', change);
      await refusedWith(ac.token, code);
    }
  });

  it("holds a command to the accord's current policy as well as the AC's own", async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    assert.equal((await run(ac.token, ['echo', 'hi'])).result.exit_code, 0);
    reloadWith('bascule-ops', (a) => ({ ...a, commands: { allow: ['true'], deny: [] } }));
    await refusedWith(ac.token, 'command_not_allowed', ['echo', 'hi']);
    assert.equal((await run(ac.token, ['true'])).result.exit_code, 0);
    // Looser now than when the AC was issued: the AC's own policy still holds.
    reloadWith('bascule-ops', (a) => ({ ...a, commands: { allow: ['*'], deny: [] } }));
    await refusedWith(ac.token, 'command_not_allowed', ['uname']);
  });

  it("stops a delegated AC when the agent is no longer the accord's delegate", async () => {
    const issued = await b.client().authorize({
      accord: 'agent-ops',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 600,
      delegate_to: b.agent.did,
    });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    const agent = b.client(b.agent);
    const call = () =>
      agent.invoke('bascule', issued.ac, {
        target: 'db1.internal.test',
        operation: { argv: ['true'] },
      });
    assert.equal((await call()).result.exit_code, 0);
    reloadWith('agent-ops', (a) => ({ ...a, delegates: [] }));
    // The agent is no longer named anywhere: refused at the door, before anything is written.
    await assert.rejects(
      call(),
      (e: unknown) => e instanceof BrokerError && e.code === 'principal_unknown',
    );
    // Named elsewhere (an admin now), but no longer this accord's delegate.
    const accords = original.accords.map((a) =>
      a.id === 'agent-ops' ? { ...a, delegates: [] } : a,
    );
    b.server.reload({
      ...original,
      admins: [...original.admins, b.agent.did],
      accords,
      accordsById: new Map(accords.map((a) => [a.id, a])),
    });
    await assert.rejects(
      call(),
      (e: unknown) => e instanceof BrokerError && e.code === 'delegation_not_allowed',
    );
  });

  it('stops an SSH AC when the login its certificate would carry has changed', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const ssh = () =>
      b.client().invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv: ['true'] } });
    assert.equal((await ssh()).result.exit_code, 0);
    reloadWith('ssh-ops', (a) => ({ ...a, ssh_login: 'someoneelse' }));
    await assert.rejects(
      ssh(),
      (e: unknown) => e instanceof BrokerError && e.code === 'accord_changed',
    );
  });

  it('says which changed sections need a restart', () => {
    const result = b.server.reload({
      ...original,
      limits: { ...original.limits, output_bytes: 1 },
    });
    assert.deepEqual(result.needsRestart, ['limits']);
    const failover = { failures: 9, open_seconds: 1 };
    assert.deepEqual(
      b.server.reload({
        ...original,
        failover,
        backends: original.backends.map((e) => ({ ...e, failover })),
      }).needsRestart,
      ['failover', 'backends or connectors'],
    );
    assert.deepEqual(b.server.reload(original).needsRestart, []);
  });
});
