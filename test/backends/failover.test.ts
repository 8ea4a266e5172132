/**
 * Failover end to end, through a real broker over HTTP: two `oauth_exchange` backends
 * (two real authorization servers, oidc-provider) for the HTTP connector in front of a real
 * API. The first server is killed: invocations keep succeeding through the second; the
 * first backend's circuit opens after its configured number of failures and, while open,
 * not one more request reaches it (a TCP proxy in front of it counts every connection);
 * after the server restarts and the open period has passed on the broker's clock, one
 * probe finds it answering and the broker uses it again. The added cost of the outage is
 * asserted as a number of calls to the dead backend, not as time (speed is bench/'s).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Clock } from '../../src/base/clock.js';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import type { BackendHealth } from '../../src/credentials/health.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import type { PublicJwks } from '../../src/governance/keyring.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { type AuthorizationServer, startAuthorizationServer } from '../helpers/oauth-as.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const OPEN_SECONDS = 10;

describe('failover between two token-exchange backends', () => {
  const alice = generatePrincipalKey();
  const servers = new Map<string, AuthorizationServer>(); // by issuer: what the API trusts
  let api: Server;
  let base = '';
  let first: AuthorizationServer;
  let second: AuthorizationServer;
  let proxy: TcpProxy;
  let broker: RunningServer;
  let brokerJwks: PublicJwks = { keys: [] };
  // The broker's clock: the real one, moved on by the test past the open period.
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  let client: BastionClient;
  let ac = '';

  const startAs = (port?: number) =>
    startAuthorizationServer({
      brokerJwks: () => brokerJwks,
      resources: { [base]: { scopes: ['read'] } },
      clientSecret: 'failover-test-secret',
      ...(port !== undefined ? { port } : {}),
    });

  before(async () => {
    // The API accepts a token from either authorization server, verified with its keys.
    api = createServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const issuer = (() => {
        try {
          return String(decodeJwt(token).iss);
        } catch {
          return '';
        }
      })();
      const as = servers.get(issuer);
      if (as === undefined) {
        res.writeHead(401).end();
        return;
      }
      jwtVerify(token, createRemoteJWKSet(new URL(as.jwksUri)), { issuer, audience: base }).then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
        () => res.writeHead(401).end(),
      );
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    first = await startAs();
    second = await startAs();
    for (const as of [first, second]) servers.set(as.issuer, as);
    proxy = await startTcpProxy(Number(new URL(first.issuer).port));
    const viaProxy = (url: string) => {
      const u = new URL(url);
      u.port = String(proxy.port);
      return u.toString();
    };

    process.env['TEST_FAILOVER_AS_SECRET'] = 'failover-test-secret';
    const dir = mkdtempSync(join(tmpdir(), 'bastion-failover-'));
    const backend = (id: string, as: AuthorizationServer, tokenEndpoint: string) => `
  - kind: oauth_exchange
    id: ${id}
    token_endpoint: ${tokenEndpoint}
    issuer: ${as.issuer}
    client_id: ${as.clientIds.secretBasic}
    client_secret_env: TEST_FAILOVER_AS_SECRET`;
    const config = parseConfig(
      `listen: 127.0.0.1:0
data_dir: ${dir}
log_level: silent
admins: [${alice.did}]
limits: { rate_per_minute: 100000 }
failover: { failures: 5, open: 1h }
backends:${backend('as-one', first, viaProxy(first.tokenEndpoint))}
    failover: { failures: 2, open: ${OPEN_SECONDS}s }${backend('as-two', second, second.tokenEndpoint)}
accords:
  - id: api
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${base}"]
    capabilities: [read]
    max_duration: 15m
`,
      join(dir, 'bastion.yaml'),
    );
    broker = await startServer({ config, clock, logDestination: false });
    brokerJwks = await broker.service.jwks();
    client = new BastionClient({ url: broker.url, key: alice });
    const issued = await client.authorize({
      accord: 'api',
      connector: 'http',
      target: base,
      capabilities: ['read'],
      duration_seconds: 600,
    });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    ac = issued.ac;
  });
  after(async () => {
    await broker.close();
    await proxy.close();
    for (const as of servers.values()) await as.close();
    await new Promise<void>((r) => api.close(() => r()));
    delete process.env['TEST_FAILOVER_AS_SECRET'];
  });

  /** One invocation: it must succeed; returns the backend that issued its credential. */
  const invoke = async (): Promise<string> => {
    const r = await client.invoke<HttpResult>('http', ac, {
      target: base,
      operation: { method: 'GET', path: '/data' },
    });
    assert.equal(r.result.status, 200, 'the API accepted the token');
    return r.credential.issued_by;
  };
  const healthOf = async (id: string): Promise<BackendHealth> => {
    const { backends } = await client.backendHealth();
    const found = backends.find((b) => b.id === id);
    assert.ok(found !== undefined, id);
    assert.deepEqual(
      found,
      broker.backendHealth().find((b) => b.id === id),
    );
    return found;
  };

  it('keeps serving through the second while the first is dead, without calling it, and returns to the first', async () => {
    // Both up: the first, in the order written, issues.
    assert.equal(await invoke(), 'as-one');
    const up = await healthOf('as-one');
    assert.equal(up.state, 'closed');
    assert.notEqual(up.last_success_at, null);
    assert.deepEqual(up.failover, { failures: 2, open_seconds: OPEN_SECONDS });
    assert.deepEqual((await healthOf('as-two')).failover, { failures: 5, open_seconds: 3600 });

    // Kill the first authorization server. Two failures (its threshold) open its circuit.
    const port = Number(new URL(first.issuer).port);
    await first.close();
    servers.delete(first.issuer);
    const beforeOutage = proxy.connections;
    assert.equal(await invoke(), 'as-two');
    assert.equal(await invoke(), 'as-two');
    assert.equal(proxy.connections - beforeOutage, 2, 'one call each to the dead backend');
    const opened = await healthOf('as-one');
    assert.equal(opened.state, 'open');
    assert.equal(opened.consecutive_failures, 2);
    assert.equal(opened.last_failure_reason, 'backend_unavailable');
    assert.equal(opened.last_success_at, up.last_success_at);

    // While open, the dead backend is not called at all; invocations still succeed.
    for (let i = 0; i < 5; i += 1) assert.equal(await invoke(), 'as-two');
    assert.equal(proxy.connections - beforeOutage, 2, 'not one call while the circuit is open');

    // The server restarts where it was; the circuit stays open until its period has passed.
    first = await startAs(port);
    servers.set(first.issuer, first);
    assert.equal(await invoke(), 'as-two');
    assert.equal(proxy.connections - beforeOutage, 2);
    assert.equal(first.tokenRequests.length, 0);

    // Past the open period on the broker's clock: one probe, it answers, the circuit closes.
    offset += OPEN_SECONDS * 1000;
    assert.equal(await invoke(), 'as-one');
    assert.equal(first.tokenRequests.length, 1);
    const recovered = await healthOf('as-one');
    assert.equal(recovered.state, 'closed');
    assert.equal(recovered.consecutive_failures, 0);
    assert.notEqual(recovered.last_success_at, up.last_success_at);
    assert.equal(await invoke(), 'as-one');
  });
});
