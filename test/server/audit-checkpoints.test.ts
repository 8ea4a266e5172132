/**
 * `GET /audit/checkpoints` over real HTTP: the latest signed checkpoint, to a key the policy
 * names with a DPoP proof (as `GET /audit`), verifiable against the broker's JWKS; nothing
 * to a caller without a proof or a stranger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { PrincipalKey } from '../../src/governance/did-key.js';
import { createDpopProof } from '../../src/governance/dpop.js';
import { type TestBroker, startTestBroker } from '../helpers/broker.js';

describe('GET /audit/checkpoints', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker.close();
  });

  const get = async (key: PrincipalKey | undefined) => {
    const url = `${broker.url}/audit/checkpoints`;
    const headers: Record<string, string> = {};
    if (key !== undefined) {
      const { privateKey, publicJwk } = key;
      headers['dpop'] = await createDpopProof({ privateKey, publicJwk, method: 'GET', url });
    }
    const response = await fetch(url, { headers });
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };

  it('returns the latest checkpoint, signed by a key of the JWKS', async () => {
    await broker.client(broker.keys.alice).authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 60,
    });
    await broker.server.audit.checkpoint();
    const latest = await broker.server.store.latestCheckpoint();
    const { status, json } = await get(broker.keys.alice);
    assert.equal(status, 200);
    assert.deepEqual(json, { checkpoints: [latest] });
    const jwks = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as {
      keys: [];
    };
    const jws = String(json['checkpoints']?.[0]?.jws);
    const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(jwks), {
      typ: 'audit-checkpoint+jwt',
      algorithms: ['EdDSA'],
    });
    assert.equal(protectedHeader.kid, broker.server.keyring.activeKid);
    assert.equal(payload['seq'], latest?.seq);
    assert.equal(payload['hash'], latest?.hash);
  });

  it('refuses a caller without a proof, and a key no accord names', async () => {
    assert.equal((await get(undefined)).status, 401);
    const stranger = await get(broker.keys.mallory);
    assert.equal(stranger.status, 403);
    assert.equal(stranger.json['error']?.code, 'principal_unknown');
  });
});
