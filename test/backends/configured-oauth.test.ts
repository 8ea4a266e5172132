/**
 * A broker configured with an `oauth_exchange` backend (and no dev backend: it is built only when listed), against
 * a real authorization server (oidc-provider) and a real API: the HTTP connector gets a
 * token exchanged for exactly the target, with the principal as `sub` and the broker as
 * actor, and the API accepts it. The token never reaches the caller.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import type { PublicJwks } from '../../src/governance/keyring.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { type AuthorizationServer, startAuthorizationServer } from '../helpers/oauth-as.js';

describe('broker with a configured token-exchange backend', () => {
  let as: AuthorizationServer;
  let api: Server;
  let broker: RunningServer;
  let base = '';
  let brokerJwks: PublicJwks = { keys: [] };
  const seen: { sub?: unknown; act?: unknown; aud?: unknown; token: string }[] = [];
  const alice = generatePrincipalKey();

  before(async () => {
    api = createServer((req, res) => {
      void (async () => {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        try {
          const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(as.jwksUri)), {
            issuer: as.issuer,
            audience: base,
          });
          seen.push({ sub: payload.sub, act: payload['act'], aud: payload.aud, token });
          const scopes = typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : [];
          res.writeHead(scopes.includes('read') ? 200 : 403, {
            'content-type': 'application/json',
          });
          res.end(JSON.stringify({ ok: true }));
        } catch {
          res.writeHead(401).end();
        }
      })();
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    const address = api.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    as = await startAuthorizationServer({
      brokerJwks: () => brokerJwks,
      resources: { [base]: { scopes: ['read'] } },
    });

    process.env['TEST_BROKER_AS_SECRET'] = as.clientSecret;
    const dir = mkdtempSync(join(tmpdir(), 'bastion-oauth-'));
    const config = parseConfig(
      `listen: 127.0.0.1:0
data_dir: ${dir}
log_level: warn
backends:
  - kind: oauth_exchange
    id: corp-as
    token_endpoint: ${as.tokenEndpoint}
    revocation_endpoint: ${as.revocationEndpoint}
    issuer: ${as.issuer}
    client_id: ${as.clientIds.secretBasic}
    client_secret_env: TEST_BROKER_AS_SECRET
accords:
  - id: api
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${base}"]
    capabilities: [read, write]
    max_duration: 15m
`,
      join(dir, 'bastion.yaml'),
    );
    broker = await startServer({ config, logDestination: false });
    brokerJwks = await broker.service.jwks();
  });
  after(async () => {
    await broker.close();
    await as.close();
    api.close();
    delete process.env['TEST_BROKER_AS_SECRET'];
  });

  it('exchanges a token for the target, narrowed to the AC, with the principal and the actor chain', async () => {
    const client = new BastionClient({ url: broker.url, key: alice });
    const ac = await client.authorize({
      accord: 'api',
      connector: 'http',
      target: base,
      capabilities: ['read'],
      duration_seconds: 300,
    });
    if (ac.status !== 'active') throw new Error('expected active');
    const r = await client.invoke<HttpResult>('http', ac.ac, {
      target: base,
      operation: { method: 'GET', path: '/x' },
    });
    assert.equal(r.result.status, 200);
    assert.equal(r.credential.issued_by, 'corp-as');
    const got = seen.at(-1);
    assert.equal(got?.aud, base);
    assert.equal(got?.sub, alice.did);
    assert.deepEqual(got?.act, { sub: as.clientIds.secretBasic });
    assert.ok(!JSON.stringify(r).includes(got?.token ?? 'x'), 'the token never reaches the caller');
    const issue = (await broker.audit.list({ ac_id: ac.ac_id, type: 'credential_issue' }))[0];
    assert.equal(issue?.detail?.['issuedBy'], 'corp-as');
  });
});
