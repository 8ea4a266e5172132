/**
 * The HTTP connector with SVIDs from a real SPIRE, end to end through a broker configured
 * with `kind: spire`: a plain-http API that takes a JWT-SVID only when both the agent
 * (ValidateJWTSVID) and the trust domain's JWT bundle (FetchJWTBundles, jose) accept it for
 * its own SPIFFE ID as audience; and an HTTPS API, serving its own X.509-SVID, that
 * requires a client certificate chaining to the SPIRE bundle and answers with the SPIFFE
 * ID it saw. Neither the token nor the key ever comes back. Skipped where SPIRE is not
 * built, unless CI is set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import {
  type Spire,
  spireSkip,
  startSpire,
  type TestWorkload,
  testWorkload,
} from '../helpers/spire.js';

const skip = spireSkip();
const BROKER_ID = 'spiffe://example.org/bastion';
const API_ID = 'spiffe://example.org/api';

const listen = (server: Server, host: string) =>
  new Promise<number>((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );

describe('HTTP connector with SPIRE SVIDs, through the broker', { skip }, () => {
  let spire: Spire;
  let workload: TestWorkload;
  let broker: RunningServer;
  let jwtApi: Server;
  let mtlsApi: Server;
  let jwtTarget = '';
  let mtlsTarget = '';
  let dataDir = '';
  const tokens: string[] = [];
  const alice = generatePrincipalKey();

  before(async () => {
    spire = await startSpire({
      entries: [{ spiffeId: BROKER_ID }, { spiffeId: API_ID, dns: ['localhost'] }],
    });
    workload = testWorkload(spire.socket);
    const jwks = createLocalJWKSet(await workload.jwks());
    jwtApi = createHttpServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      tokens.push(token);
      void Promise.all([
        workload.validate(API_ID, token),
        jwtVerify(token, jwks, { audience: API_ID, subject: BROKER_ID }),
      ]).then(
        ([spiffeId]) =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ sub: spiffeId })),
        () => res.writeHead(401).end(),
      );
    });
    jwtTarget = `http://127.0.0.1:${await listen(jwtApi, '127.0.0.1')}`;
    const own = await workload.x509(API_ID);
    mtlsApi = createHttpsServer(
      {
        key: own.keyPem,
        cert: own.certPem,
        ca: own.bundlePem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate().subjectaltname;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ peer }));
      },
    );
    mtlsTarget = `https://localhost:${await listen(mtlsApi, 'localhost')}`;

    dataDir = mkdtempSync(join(tmpdir(), 'bastion-spire-broker-'));
    const accord = (id: string, target: string) => `
  - id: ${id}
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${target}"]
    capabilities: [read]
    max_duration: 15m`;
    const yaml = `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: warn
connectors:
  http:
    credentials:
      - { targets: ["${mtlsTarget}"], type: x509_svid }
backends:
  - kind: spire
    socket: ${spire.socket}
    spiffe_id: ${BROKER_ID}
    audiences:
      - { targets: ["${jwtTarget}"], audience: ${API_ID} }
accords:${accord('api-jwt', jwtTarget)}${accord('api-mtls', mtlsTarget)}
`;
    broker = await startServer({
      config: parseConfig(yaml, join(dataDir, 'bastion.yaml')),
      logDestination: false,
    });
  });
  after(async () => {
    await broker?.close();
    jwtApi?.close();
    mtlsApi?.close();
    workload?.close();
    await spire?.stop();
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
  });

  const invoke = async (accord: string, target: string) => {
    const client = new BastionClient({ url: broker.url, key: alice });
    const issued = await client.authorize({
      accord,
      connector: 'http',
      target,
      capabilities: ['read'],
      duration_seconds: 300,
    });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    return client.invoke<HttpResult>('http', issued.ac, {
      target,
      operation: { method: 'GET', path: '/whoami' },
    });
  };

  it('presents a JWT-SVID the API validates through the Workload API and the JWT bundle', async () => {
    const r = await invoke('api-jwt', jwtTarget);
    assert.equal(r.result.status, 200);
    assert.deepEqual(JSON.parse(r.result.body), { sub: BROKER_ID });
    assert.equal(r.credential.type, 'oauth');
    assert.equal(r.credential.issued_by, 'spire');
    const token = tokens.at(-1) ?? '';
    assert.equal(token.split('.').length, 3, 'the API saw a JWT');
    const reply = JSON.stringify(r);
    assert.ok(JSON.stringify({ x: token }).includes(token), 'control: the check sees a token');
    assert.ok(
      !reply.includes(token) && !reply.includes(token.split('.')[2] ?? token),
      'no token in the reply',
    );
  });

  it('presents an X.509-SVID for mutual TLS, and verifies the API against the SPIRE bundle', async () => {
    const r = await invoke('api-mtls', mtlsTarget);
    assert.equal(r.result.status, 200);
    assert.deepEqual(JSON.parse(r.result.body), { peer: `URI:${BROKER_ID}` });
    assert.equal(r.credential.type, 'x509_svid');
    assert.match(r.credential.fingerprint, /^x509:/);
    assert.doesNotMatch(JSON.stringify(r), /PRIVATE KEY/);
  });
});
