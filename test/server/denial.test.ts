/**
 * Deciding with a comment over real HTTP: an approver of the accord denies a pending request
 * for good (status `denied`, never approvable nor usable afterwards), anyone else is refused,
 * and the comments reach the requester's view but neither the logs nor the audit trail.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import { type TestBroker, startTestBroker } from '../helpers/broker.js';
import { newMarker } from '../helpers/leak.js';

const request = {
  accord: 'peer-review',
  connector: 'ssh',
  target: 'db.prod.test',
  capabilities: ['read'],
  duration_seconds: 600,
};

const refusedWith =
  (status: number, code: string) =>
  (e: unknown): boolean =>
    e instanceof BrokerError && e.status === status && e.code === code;

describe('denying a request, deciding with a comment', () => {
  let broker: TestBroker;
  let logs = '';
  before(async () => {
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    // One approval of bob or carol suffices: a denial must stop what one approval would allow.
    broker = await startTestBroker({
      logs: sink,
      logLevel: 'debug',
      extraYaml: (keys) => `  - id: peer-review
    principals: [${keys.alice.did}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*.prod.test"]
    capabilities: [read]
    max_duration: 1h
    approvals: { required: 1, approvers: [${keys.bob.did}, ${keys.carol.did}] }
`,
    });
  });
  after(async () => {
    await broker.close();
  });

  it('denies for good: no approval afterwards, no token, shown to the requester with the comment', async () => {
    const alice = broker.client(broker.keys.alice);
    const bob = broker.client(broker.keys.bob);
    const carol = broker.client(broker.keys.carol);
    const marker = newMarker();
    const pending = await alice.authorize(request);
    assert.equal(pending.status, 'pending_approval');
    const id = pending.ac_id;

    const denied = await carol.deny(id, `not during the freeze ${marker}`);
    assert.equal(denied.status, 'denied');
    await assert.rejects(bob.approve(id), refusedWith(409, 'ac_not_pending'));
    await assert.rejects(carol.deny(id), refusedWith(409, 'ac_not_pending'));

    const shown = await alice.show(id);
    assert.equal(shown.status, 'denied');
    assert.equal(shown.denied_by, broker.keys.carol.did);
    assert.equal(shown.denial_comment, `not during the freeze ${marker}`);
    assert.equal(shown.ac, undefined, 'a denied request has no token');
    assert.deepEqual(shown.approvals, []);
    assert.equal((await alice.listAcs()).acs.find((v) => v.ac_id === id)?.status, 'denied');
    assert.deepEqual((await bob.awaitingApproval()).acs, [], 'nothing left to decide');

    // Audited with the approver and whether it commented; the comment itself stays out.
    const entries = await broker.server.audit.list({ ac_id: id, type: 'deny' });
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.actor, broker.keys.carol.did);
    assert.equal(entries[0]?.outcome, 'denied_by_approver');
    assert.deepEqual(entries[0]?.detail, { comment: true });
    assert.ok(!JSON.stringify(entries).includes(marker));
    assert.ok(logs.includes(id), 'the denial is logged');
    assert.ok(!logs.includes(marker), 'the comment is not');
  });

  it('refuses a denial by anyone but an approver of the accord, and of a request not pending', async () => {
    const alice = broker.client(broker.keys.alice);
    const pending = await alice.authorize(request);
    const id = pending.ac_id;
    // The requester, and a broker admin, are not approvers of this accord.
    await assert.rejects(alice.deny(id), refusedWith(403, 'not_allowed_to_deny'));
    await assert.rejects(
      broker.client(broker.keys.admin).deny(id),
      refusedWith(403, 'not_allowed_to_deny'),
    );
    await assert.rejects(
      broker.client(broker.keys.mallory).deny(id),
      refusedWith(403, 'principal_unknown'),
    );
    assert.equal((await alice.show(id)).status, 'pending_approval');
    assert.equal((await broker.server.audit.list({ ac_id: id, type: 'deny' })).length, 0);

    // An approval carries its comment to the requester; an active AC can no longer be denied.
    const approved = await broker.client(broker.keys.bob).approve(id, 'ok for the migration');
    assert.equal(approved.status, 'active');
    assert.equal(approved.approvals[0]?.comment, 'ok for the migration');
    assert.equal((await alice.show(id)).approvals[0]?.comment, 'ok for the migration');
    await assert.rejects(
      broker.client(broker.keys.carol).deny(id),
      refusedWith(409, 'ac_not_pending'),
    );
    assert.equal((await alice.show(id)).status, 'active');
  });

  it('refuses an oversized or secret-shaped comment before anything is recorded', async () => {
    const alice = broker.client(broker.keys.alice);
    const carol = broker.client(broker.keys.carol);
    const { ac_id: id } = await alice.authorize(request);
    await assert.rejects(carol.deny(id, 'x'.repeat(501)), refusedWith(400, 'invalid_request'));
    await assert.rejects(
      carol.deny(id, 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'),
      refusedWith(400, 'invalid_argument'),
    );
    await assert.rejects(
      carol.approve(id, '-----BEGIN PRIVATE KEY-----'),
      refusedWith(400, 'invalid_argument'),
    );
    assert.equal((await alice.show(id)).status, 'pending_approval');
    assert.equal((await broker.server.audit.list({ ac_id: id })).length, 1, 'only the request');
    assert.equal((await carol.deny(id, 'x'.repeat(500))).status, 'denied');
  });
});
