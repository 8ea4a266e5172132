/**
 * Delegation (RFC 8693 `act`): a human principal authorizes an AC for an agent's key. The
 * agent holds it and uses it; the human cannot; every audit entry shows human → agent; the
 * agent cannot get more than the human's accord allows; revoking stops the agent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import { generatePrincipalKey, jwkFromDid, thumbprint } from '../../src/governance/did-key.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';

const refused = (code: string, status: number) => (e: unknown) =>
  e instanceof BrokerError && e.code === code && e.status === status;

describe('delegation to an agent', () => {
  let b: ConnectorBroker;
  before(async () => {
    b = await startConnectorBroker();
  });
  after(async () => {
    await b.close();
  });

  const delegate = (overrides: Record<string, unknown> = {}) =>
    b.client(b.alice).authorize({
      accord: 'agent-ops',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 600,
      delegate_to: b.agent.did,
      ...overrides,
    });

  it('binds the AC to the agent key, with act naming the agent and sub the human', async () => {
    const issued = await delegate();
    assert.equal(issued.status, 'active');
    if (issued.status !== 'active') return;
    const claims = JSON.parse(
      Buffer.from(issued.ac.split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, any>;
    assert.equal(claims['sub'], b.alice.did);
    assert.deepEqual(claims['act'], { sub: b.agent.did });
    assert.equal(claims['cnf'].jkt, await thumbprint(jwkFromDid(b.agent.did)));

    assert.equal(
      (await b.client(b.alice).show(issued.ac_id)).ac,
      undefined,
      'the human does not hold it',
    );
    const held = await b.client(b.agent).show(issued.ac_id);
    assert.equal(typeof held.ac, 'string', 'the agent does');

    await assert.rejects(
      b
        .client(b.alice)
        .invoke('bascule', issued.ac, { target: 'db1.internal.test', operation: { argv: ['id'] } }),
      refused('dpop_key_mismatch', 401),
    );
    const r = await b.client(b.agent).invoke('bascule', held.ac ?? '', {
      target: 'db1.internal.test',
      operation: { argv: ['echo', 'agent'] },
    });
    assert.equal(r.result.exit_code, 0);

    const entries = (await b.server.audit.list({ ac_id: issued.ac_id })).filter(
      (e) => e.invocation_id === r.invocation_id,
    );
    assert.deepEqual(
      entries.map((e) => e.type),
      ['invoke_start', 'credential_issue', 'credential_discard', 'invoke_end'],
    );
    for (const e of entries) {
      assert.equal(e.actor, b.agent.did);
      assert.equal(e.principal, b.alice.did);
      assert.deepEqual(e.detail?.['act'], { sub: b.agent.did }, `${e.type} shows the chain`);
    }
    const authorize = (await b.server.audit.list({ ac_id: issued.ac_id, type: 'authorize' }))[0];
    assert.deepEqual(authorize?.detail?.['act'], { sub: b.agent.did });
  });

  it('refuses a delegate the accord does not list, and an accord without delegates', async () => {
    await assert.rejects(
      delegate({ delegate_to: generatePrincipalKey().did }),
      refused('delegation_not_allowed', 403),
    );
    await assert.rejects(
      delegate({ accord: 'bascule-ops', capabilities: ['exec'] }),
      refused('delegation_not_allowed', 403),
    );
  });

  it('gives the agent nothing of its own: no request, no further delegation, nothing beyond the AC', async () => {
    const agent = b.client(b.agent);
    const own = {
      accord: 'agent-ops',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 60,
    };
    await assert.rejects(agent.authorize(own), refused('principal_not_allowed', 403));
    await assert.rejects(
      agent.authorize({ ...own, delegate_to: generatePrincipalKey().did }),
      refused('principal_not_allowed', 403),
    );
    const accords = await agent.accords();
    assert.deepEqual(
      accords.accords.map((a) => [a.id, a.as]),
      [['agent-ops', 'delegate']],
    );

    const issued = await delegate({ capabilities: ['read'] });
    const held = await agent.show(issued.ac_id);
    await assert.rejects(
      agent.invoke('bascule', held.ac ?? '', {
        target: 'db1.internal.test',
        operation: { argv: ['id'] },
      }),
      refused('capability_missing', 403),
    );
  });

  it("stops the agent's next call when the human revokes the AC", async () => {
    const issued = await delegate();
    const held = await b.client(b.agent).show(issued.ac_id);
    const run = () =>
      b.client(b.agent).invoke('bascule', held.ac ?? '', {
        target: 'db1.internal.test',
        operation: { argv: ['true'] },
      });
    assert.equal((await run()).result.exit_code, 0);
    await b.client(b.alice).revoke(issued.ac_id);
    await assert.rejects(run(), refused('ac_revoked', 401));
  });
});
