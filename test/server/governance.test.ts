/**
 * Governance over real HTTP against a running broker: issuing, approving, revoking,
 * showing, and every refusal with its status and code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BrokerError } from '../../src/client/client.js';
import { jsonSchemaOf } from '../../src/connectors/operation.js';
import { connectorRegistry } from '../../src/connectors/registry.js';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { createDpopProof } from '../../src/governance/dpop.js';
import { type TestBroker, startTestBroker } from '../helpers/broker.js';
import { newMarker } from '../helpers/leak.js';

const authorizeBody = {
  accord: 'ops-exec',
  connector: 'ssh',
  target: 'db1.internal.test',
  capabilities: ['exec'],
  duration_seconds: 600,
};

interface RawOptions {
  key?: PrincipalKey | undefined;
  method?: string;
  path?: string;
  body?: string | undefined;
  contentType?: string;
  proof?: string | null;
  proofMethod?: string;
  proofUrl?: string;
  proofNow?: number;
}

async function raw(broker: TestBroker, o: RawOptions = {}) {
  const method = o.method ?? 'POST';
  const path = o.path ?? '/governance/authorize/';
  const key = o.key ?? broker.keys.alice;
  const headers: Record<string, string> = {};
  const proof =
    o.proof === undefined
      ? await createDpopProof({
          privateKey: key.privateKey,
          publicJwk: key.publicJwk,
          method: o.proofMethod ?? method,
          url: o.proofUrl ?? broker.url + path,
          now: o.proofNow,
        })
      : o.proof;
  if (proof !== null) headers['dpop'] = proof;
  if (o.body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
  const response = await fetch(broker.url + path, {
    method,
    headers,
    ...(o.body !== undefined ? { body: o.body } : {}),
  });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as Record<string, any> };
}

async function expectRefusal(
  pending: Promise<{ status: number; json: Record<string, any>; text: string }>,
  status: number,
  code: string,
): Promise<string> {
  const r = await pending;
  assert.equal(r.status, status, r.text);
  assert.equal(r.json['error']?.code, code, r.text);
  assert.equal(typeof r.json['error']?.message, 'string');
  return r.text;
}

describe('governance API', () => {
  let broker: TestBroker;
  before(async () => {
    // Peer review: alice and bob may each request; bob and carol approve.
    broker = await startTestBroker({
      extraYaml: (keys) => `  - id: peer-review
    principals: [${keys.alice.did}, ${keys.bob.did}]
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

  it('issues an AC, shows it, revokes it, and shows it revoked', async () => {
    const alice = broker.client(broker.keys.alice);
    const issued = await alice.authorize(authorizeBody);
    assert.equal(issued.status, 'active');
    if (issued.status !== 'active') return;
    assert.equal(issued.capability_mask, 2);

    const jwks = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as {
      keys: [];
    };
    const { payload, protectedHeader } = await jwtVerify(issued.ac, createLocalJWKSet(jwks), {
      issuer: 'urn:bastion:broker',
      audience: 'urn:bastion:connectors',
      typ: 'ac+jwt',
      algorithms: ['EdDSA'],
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(payload.sub, broker.keys.alice.did);
    assert.equal(payload.jti, issued.ac_id);
    assert.equal((payload.exp ?? 0) - (payload.nbf ?? 0), 600);
    assert.equal((payload['cnf'] as { jkt: string }).jkt.length, 43);
    assert.deepEqual(payload['ctx'], {
      principal_did: broker.keys.alice.did,
      capability_mask: 2,
      capabilities: ['exec'],
      accord_template: 'ops-exec',
      connector: 'ssh',
      target: 'db1.internal.test',
      commands: { allow: ['uptime', 'systemctl status *'], deny: ['*rm *'] },
      ssh_principals: ['ops'],
    });
    await broker.server.service.verify(issued.ac);

    const shown = await alice.show(issued.ac_id);
    assert.equal(shown.status, 'active');
    assert.equal(typeof shown.ac, 'string', 'the principal gets its token');

    const revoked = await alice.revoke(issued.ac_id);
    assert.equal(revoked.status, 'revoked');
    assert.equal((await alice.show(issued.ac_id)).status, 'revoked');
    assert.equal((await alice.show(issued.ac_id)).ac, undefined, 'no token once revoked');
    await assert.rejects(broker.server.service.verify(issued.ac), /revoked/);
    await assert.rejects(
      alice.revoke(issued.ac_id),
      (e: unknown) => e instanceof BrokerError && e.status === 409,
    );
  });

  it('needs M=2 distinct approvers; a repeat approval does not count; a non-approver is refused', async () => {
    const alice = broker.client(broker.keys.alice);
    const bob = broker.client(broker.keys.bob);
    const carol = broker.client(broker.keys.carol);
    const mallory = broker.client(broker.keys.mallory);
    const pending = await alice.authorize({
      ...authorizeBody,
      accord: 'prod-write',
      target: 'db.prod.test',
      capabilities: ['write'],
    });
    assert.equal(pending.status, 'pending_approval');
    const id = pending.ac_id;

    assert.equal((await bob.approve(id)).status, 'pending_approval');
    await assert.rejects(
      bob.approve(id),
      (e: unknown) => e instanceof BrokerError && e.status === 409 && e.code === 'already_approved',
    );
    assert.equal((await alice.show(id)).approvals.length, 1);
    // A key the policy names, but not as an approver of this accord.
    await assert.rejects(
      broker.client(broker.keys.admin).approve(id),
      (e: unknown) => e instanceof BrokerError && e.status === 403 && e.code === 'not_an_approver',
    );
    // A key no accord names is refused before anything is looked up.
    await assert.rejects(
      mallory.approve(id),
      (e: unknown) =>
        e instanceof BrokerError && e.status === 403 && e.code === 'principal_unknown',
    );
    await assert.rejects(
      alice.approve(id),
      (e: unknown) => e instanceof BrokerError && e.status === 403,
    );

    const approved = await carol.approve(id);
    assert.equal(approved.status, 'active');
    assert.equal(approved.ac, undefined, 'an approver never sees the token');
    const mine = await alice.show(id);
    assert.equal(mine.status, 'active');
    assert.equal(typeof mine.ac, 'string');
    await broker.server.service.verify(mine.ac);
    await assert.rejects(
      carol.approve(id),
      (e: unknown) => e instanceof BrokerError && e.status === 409,
    );
  });

  it('refuses a requester who is also an approver approving their own request', async () => {
    const bob = broker.client(broker.keys.bob);
    const pending = await bob.authorize({
      ...authorizeBody,
      accord: 'peer-review',
      target: 'db.prod.test',
      capabilities: ['read'],
    });
    assert.equal(pending.status, 'pending_approval');
    await assert.rejects(
      bob.approve(pending.ac_id),
      (e: unknown) =>
        e instanceof BrokerError && e.status === 403 && e.code === 'self_approval_not_allowed',
    );
    const shown = await bob.show(pending.ac_id);
    assert.equal(shown.status, 'pending_approval', 'one approval is required, and none counted');
    assert.deepEqual(shown.approvals, []);
    const refusals = await broker.server.audit.list({ ac_id: pending.ac_id, type: 'approve' });
    assert.equal(refusals.length, 0, 'no approval was recorded');
    // Another approver completes it; bob then holds an active AC.
    assert.equal((await broker.client(broker.keys.carol).approve(pending.ac_id)).status, 'active');
    assert.equal((await bob.show(pending.ac_id)).status, 'active');
  });

  it('lets an admin revoke, refuses anyone else, and hides an AC from strangers', async () => {
    const issued = await broker.client(broker.keys.alice).authorize(authorizeBody);
    // carol approves another accord: named by the policy, a stranger to this AC.
    await assert.rejects(
      broker.client(broker.keys.carol).revoke(issued.ac_id),
      (e: unknown) =>
        e instanceof BrokerError && e.status === 403 && e.code === 'not_allowed_to_revoke',
    );
    await assert.rejects(
      broker.client(broker.keys.carol).show(issued.ac_id),
      (e: unknown) => e instanceof BrokerError && e.status === 404,
    );
    // Each call starts only when awaited: two in flight would leave one rejection unhandled.
    for (const call of [
      () => broker.client(broker.keys.mallory).revoke(issued.ac_id),
      () => broker.client(broker.keys.mallory).show(issued.ac_id),
    ]) {
      await assert.rejects(
        call,
        (e: unknown) => e instanceof BrokerError && e.code === 'principal_unknown',
      );
    }
    assert.equal((await broker.client(broker.keys.admin).revoke(issued.ac_id)).status, 'revoked');
    await assert.rejects(
      broker.client(broker.keys.alice).show('00000000-0000-4000-8000-000000000000'),
      (e: unknown) => e instanceof BrokerError && e.status === 404 && e.code === 'ac_not_found',
    );
  });

  describe('refuses with the right status and code', () => {
    const body = (o: Record<string, unknown> = {}) => JSON.stringify({ ...authorizeBody, ...o });

    it('no DPoP proof', async () => {
      await expectRefusal(raw(broker, { body: body(), proof: null }), 401, 'dpop_missing');
    });
    it('a proof whose jwk is not the signing key', async () => {
      const p = await createDpopProof({
        privateKey: broker.keys.mallory.privateKey,
        publicJwk: broker.keys.alice.publicJwk,
        method: 'POST',
        url: `${broker.url}/governance/authorize/`,
      });
      await expectRefusal(raw(broker, { body: body(), proof: p }), 401, 'dpop_invalid');
    });
    it('a proof for another method', async () => {
      await expectRefusal(
        raw(broker, { body: body(), proofMethod: 'GET' }),
        401,
        'dpop_htm_mismatch',
      );
    });
    it("a proof for another URL, naming the URL the broker expects but not the proof's", async () => {
      const text = await expectRefusal(
        raw(broker, {
          body: body(),
          proofUrl: 'http://elsewhere.example.test/governance/authorize/',
        }),
        401,
        'dpop_htu_mismatch',
      );
      assert.ok(text.includes(`this broker is reached at ${broker.url}`), text);
      assert.ok(!text.includes('elsewhere'), text);
    });
    it('a proof too old, and one from the future', async () => {
      await expectRefusal(
        raw(broker, { body: body(), proofNow: Date.now() - 120_000 }),
        401,
        'dpop_iat_out_of_window',
      );
      await expectRefusal(
        raw(broker, { body: body(), proofNow: Date.now() + 120_000 }),
        401,
        'dpop_iat_out_of_window',
      );
    });
    it('a replayed proof', async () => {
      const p = await createDpopProof({
        privateKey: broker.keys.alice.privateKey,
        publicJwk: broker.keys.alice.publicJwk,
        method: 'POST',
        url: `${broker.url}/governance/authorize/`,
      });
      assert.equal((await raw(broker, { body: body(), proof: p })).status, 201);
      await expectRefusal(raw(broker, { body: body(), proof: p }), 401, 'dpop_replayed');
    });
    it('an unknown accord', async () => {
      await expectRefusal(raw(broker, { body: body({ accord: 'nope' }) }), 403, 'unknown_accord');
    });
    it('a principal not in the accord', async () => {
      // bob approves another accord: the policy names him, this accord does not.
      await expectRefusal(
        raw(broker, { key: broker.keys.bob, body: body() }),
        403,
        'principal_not_allowed',
      );
    });
    it('a key no accord names', async () => {
      await expectRefusal(
        raw(broker, { key: broker.keys.mallory, body: body() }),
        403,
        'principal_unknown',
      );
    });
    it('a connector not in the accord', async () => {
      await expectRefusal(
        raw(broker, { body: body({ connector: 'winrm' }) }),
        403,
        'connector_not_allowed',
      );
    });
    it('a target outside the patterns, without echoing it', async () => {
      const marker = newMarker().toLowerCase();
      const text = await expectRefusal(
        raw(broker, { body: body({ target: `${marker}.evil.test` }) }),
        403,
        'target_not_allowed',
      );
      assert.ok(!text.includes(marker));
    });
    it('a capability the accord does not grant', async () => {
      await expectRefusal(
        raw(broker, { body: body({ capabilities: ['exec', 'admin'] }) }),
        403,
        'capability_not_granted',
      );
    });
    it('a duration above the maximum (and exactly the maximum passes)', async () => {
      await expectRefusal(
        raw(broker, { body: body({ duration_seconds: 901 }) }),
        403,
        'duration_exceeds_max',
      );
      assert.equal((await raw(broker, { body: body({ duration_seconds: 900 }) })).status, 201);
    });
    it('a body over the limit', async () => {
      await expectRefusal(
        raw(broker, { body: body({ justification: 'x'.repeat(8000) }) }),
        413,
        'payload_too_large',
      );
    });
    it('malformed JSON, without echoing it', async () => {
      const marker = newMarker();
      const text = await expectRefusal(
        raw(broker, { body: `{"accord": "${marker}"` }),
        400,
        'malformed_json',
      );
      assert.ok(!text.includes(marker));
    });
    it('the wrong content type', async () => {
      await expectRefusal(
        raw(broker, { body: body(), contentType: 'text/plain' }),
        415,
        'unsupported_media_type',
      );
    });
    it('unknown fields and wrong types', async () => {
      await expectRefusal(raw(broker, { body: body({ admin: true }) }), 400, 'invalid_request');
      await expectRefusal(
        raw(broker, { body: body({ duration_seconds: '600' }) }),
        400,
        'invalid_request',
      );
      await expectRefusal(
        raw(broker, { body: body({ capabilities: [] }) }),
        400,
        'invalid_request',
      );
    });
    it('an unknown route and a malformed id', async () => {
      await expectRefusal(raw(broker, { method: 'GET', path: '/nope' }), 404, 'not_found');
      await expectRefusal(
        raw(broker, { method: 'GET', path: '/governance/acs/..%2f..%2fetc' }),
        400,
        'invalid_request',
      );
    });
  });

  it('serves /healthz and an OpenAPI 3.1 document naming every route', async () => {
    assert.deepEqual(await (await fetch(`${broker.url}/healthz`)).json(), { status: 'ok' });
    const doc = (await (await fetch(`${broker.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/governance/authorize/',
      '/governance/approvals/{ac_id}',
      '/governance/approvals/{ac_id}/deny',
      '/governance/revoke/',
      '/governance/acs/{ac_id}',
      '/.well-known/jwks.json',
      '/connectors/ssh/invoke',
      '/connectors/bascule/invoke',
      '/connectors/http/invoke',
      '/audit',
      '/audit/checkpoints',
    ]) {
      assert.ok(path in doc.paths, path);
    }
  });

  it("documents each connector's operation exactly as the connector's own schema says", async () => {
    type Op = { post: { requestBody: { content: Record<string, { schema: any }> } } };
    const doc = (await (await fetch(`${broker.url}/openapi.json`)).json()) as {
      paths: Record<string, Op>;
    };
    for (const plugin of connectorRegistry.list()) {
      const route = doc.paths[`/connectors/${plugin.kind}/invoke`];
      const body = route?.post.requestBody.content['application/json']?.schema;
      assert.deepEqual(
        body?.properties?.operation,
        jsonSchemaOf(plugin.operation.schema, 'input'),
        plugin.kind,
      );
    }
  });
});

describe('rate limit per principal', () => {
  it('answers 429 rate_limited with Retry-After past the limit, per principal', async () => {
    const broker = await startTestBroker({ rate: 3 });
    try {
      const body = JSON.stringify({ ...authorizeBody });
      for (let i = 0; i < 3; i++) assert.equal((await raw(broker, { body })).status, 201);
      const r = await raw(broker, { body });
      assert.equal(r.status, 429);
      assert.equal(r.json['error']?.code, 'rate_limited');
      const other = generatePrincipalKey();
      assert.equal(
        (await raw(broker, { key: other, body })).status,
        403,
        'another principal is not limited by alice',
      );
    } finally {
      await broker.close();
    }
  });
});
