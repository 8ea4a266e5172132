/**
 * Backends and clock skew against real peers on 127.0.0.1: an HTTP issuer (the token
 * endpoint of an oauth_exchange backend) whose Date header is skewed, right, or missing; a
 * port nothing listens on; a TCP peer standing in for a KDC; the dev backend, which has
 * nothing to reach. Every connection goes through test/helpers/offhost.ts's connect, which
 * refuses anything off loopback, and the names through its DNS double.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/base/free-port.js';
import { parseConfig } from '../../src/config/config.js';
import type { CheckResult } from '../../src/doctor/check.js';
import { checkPeers, endpointsOf } from '../../src/doctor/peers.js';
import { probeTcp, skewOf } from '../../src/doctor/probes.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { fakeDns, loopbackOnlyConnect } from '../helpers/offhost.js';

/** How the issuer answers: its Date header this far off ours, or none at all. */
let dateOffsetMs: number | 'none' = 0;

function answer(res: ServerResponse): void {
  if (dateOffsetMs === 'none') res.sendDate = false;
  else res.setHeader('Date', new Date(Date.now() + dateOffsetMs).toUTCString());
  res.end();
}

let issuer: Server;
let issuerUrl = '';
let closedPort = 0;
const requests: string[] = [];

before(async () => {
  issuer = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    answer(res);
  });
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  const address = issuer.address();
  issuerUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  closedPort = await freePort();
});
after(() => issuer.close());

function configWith(tokenEndpoint: string) {
  const alice = generatePrincipalKey().did;
  return parseConfig(
    `data_dir: /tmp/unused
clock_skew: 30s
backends:
  - kind: dev
  - kind: oauth_exchange
    id: idp
    token_endpoint: ${tokenEndpoint}
    issuer: https://idp.internal.test
    client_id: bastion
accords:
  - id: ops
    principals: [${alice}]
    connectors: [ssh]
    targets: [db1.internal.test]
    capabilities: [exec]
    ssh_login: ops
    max_duration: 5m
`,
    '/tmp/bastion.yaml',
  );
}

async function run(tokenEndpoint: string, offline = false) {
  const connect = loopbackOnlyConnect();
  const results = await checkPeers(configWith(tokenEndpoint), {
    offline,
    timeoutMs: 5000,
    lookup: fakeDns({ '127.0.0.1': '127.0.0.1' }),
    connect,
  });
  assert.ok(connect.attempts.every((a) => a === '127.0.0.1'));
  const byId = (id: string): CheckResult | undefined => results.find((r) => r.id === id);
  return { results, byId, attempts: connect.attempts };
}

describe('doctor: backends and clock skew', () => {
  it('an issuer ten minutes behind fails the clock check, while the backend is reachable', async () => {
    dateOffsetMs = -600_000;
    const url = `${issuerUrl}/token`;
    const { byId } = await run(url);
    assert.equal(byId('backends.idp')?.status, 'ok');
    assert.match(byId('backends.idp')?.detail?.[0] ?? '', /answers \(HTTP 200\)/);
    const clock = byId(`clock.${url}`);
    assert.equal(clock?.status, 'fail');
    assert.match(clock?.message ?? '', /skew -(599|600|601)\.\d s .*allowed 30 s/);
    // One HEAD, with no credential.
    assert.equal(requests.at(-1), 'HEAD /token ');
  });

  it('an issuer on time passes', async () => {
    dateOffsetMs = 0;
    const url = `${issuerUrl}/token`;
    const { byId } = await run(url);
    assert.equal(byId(`clock.${url}`)?.status, 'ok');
  });

  it('an issuer that sends no Date: skew not measured, said so', async () => {
    dateOffsetMs = 'none';
    const url = `${issuerUrl}/token`;
    const { byId } = await run(url);
    dateOffsetMs = 0;
    const clock = byId(`clock.${url}`);
    assert.equal(clock?.status, 'skipped');
    assert.match(clock?.message ?? '', /no Date header/);
  });

  it('a token endpoint nobody listens on fails the backend', async () => {
    const url = `http://127.0.0.1:${closedPort}/token`;
    const { byId } = await run(url);
    assert.equal(byId('backends.idp')?.status, 'fail');
    assert.match(byId('backends.idp')?.detail?.[0] ?? '', /unreachable: http_connect_failed/);
    assert.equal(byId(`clock.${url}`)?.status, 'skipped');
  });

  it('the dev backend has nothing to reach; SSH and the KDCs say why they are not measured', async () => {
    const { byId } = await run(`${issuerUrl}/token`);
    assert.equal(byId('backends.dev')?.status, 'ok');
    assert.match(byId('backends.dev')?.message ?? '', /nothing to reach/);
    assert.equal(byId('clock.ssh')?.status, 'skipped');
    assert.match(byId('clock.ssh')?.message ?? '', /no time in the SSH handshake/);
  });

  it("an http connector's target named exactly in an accord is asked its time too", async () => {
    dateOffsetMs = 3_600_000;
    const alice = generatePrincipalKey().did;
    const config = parseConfig(
      `data_dir: /tmp/unused
backends: [{ kind: dev }]
accords:
  - id: api
    principals: [${alice}]
    connectors: [http]
    targets: ["${issuerUrl}", "http://*.internal.test"]
    capabilities: [read]
    max_duration: 5m
`,
      '/tmp/bastion.yaml',
    );
    const connect = loopbackOnlyConnect();
    const results = await checkPeers(config, {
      offline: false,
      timeoutMs: 5000,
      lookup: fakeDns({ '127.0.0.1': '127.0.0.1' }),
      connect,
    });
    dateOffsetMs = 0;
    const clocks = results.filter((r) => r.group === 'clock');
    assert.deepEqual(
      clocks.map((r) => [r.id, r.status]),
      [[`clock.${issuerUrl}`, 'fail']],
    );
    assert.deepEqual(connect.attempts, ['127.0.0.1']);
  });

  it('--offline connects to nothing', async () => {
    const { byId, attempts } = await run(`http://127.0.0.1:${closedPort}/token`, true);
    assert.deepEqual(attempts, []);
    assert.equal(byId('backends.idp')?.status, 'skipped');
    assert.equal(byId('clock.http')?.status, 'skipped');
  });

  it('reads peers from settings by key: URLs, KDC addresses, sockets; never other strings', () => {
    const found = endpointsOf({
      id: 'x',
      address: 'https://vault.internal.test:8200',
      token_endpoint: 'https://idp.internal.test/token',
      issuer: 'https://not-probed.internal.test',
      targets: ['https://api.internal.test'],
      kdcs: [{ host: 'kdc1.internal.test', port: 88 }],
      socket: '/run/spire/agent.sock',
      nested: { iam_endpoint: 'https://iam.internal.test' },
    });
    assert.deepEqual(found, {
      urls: [
        'https://vault.internal.test:8200',
        'https://idp.internal.test/token',
        'https://iam.internal.test',
      ],
      tcp: [{ host: 'kdc1.internal.test', port: 88 }],
      sockets: ['/run/spire/agent.sock'],
    });
  });

  it('a KDC-like TCP peer: reachable when it listens, not when nothing does', async () => {
    const kdc = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => kdc.listen(0, '127.0.0.1', resolve));
    const address = kdc.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const deps = {
      timeoutMs: 5000,
      lookup: fakeDns({ 'kdc1.internal.test': '127.0.0.1' }),
      connect: loopbackOnlyConnect(),
    };
    try {
      assert.deepEqual(await probeTcp('kdc1.internal.test', port, deps), { ok: true });
      const closed = await probeTcp('kdc1.internal.test', closedPort, deps);
      assert.equal(closed.ok, false);
    } finally {
      kdc.close();
    }
  });

  it('skew: whole-second Date headers and the round trip widen the uncertainty', () => {
    assert.deepEqual(skewOf({ date: 10_000, midpoint: 10_500, halfRoundTrip: 100 }), {
      skew: 0,
      uncertainty: 0.6,
    });
  });
});
