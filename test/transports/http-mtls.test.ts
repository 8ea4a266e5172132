/**
 * Mutual TLS in the HTTP transport (the `x509_svid` credential): the client certificate is
 * presented to a real HTTPS server that requires one, and the target's own certificate is
 * verified against the certificate's bundle alone when one is given. Refused before any
 * connection: a key that does not fit its certificate, a disposed key, a plain-http target.
 * Certificates from openssl (test/helpers/x509.ts); DNS is injected, connections loopback only.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { BastionError } from '../../src/base/errors.js';
import { HttpConnector } from '../../src/connectors/http/connector.js';
import type { Credential, X509SvidCredential } from '../../src/credentials/types.js';
import { Secret } from '../../src/credentials/secret.js';
import type { ClientCertificate } from '../../src/transports/http/client-certificate.js';
import { httpRequest } from '../../src/transports/http/request.js';
import { acFor } from '../helpers/backends.js';
import { fakeDns, loopbackOnlyConnect } from '../helpers/offhost.js';
import { type TestCa, testCa } from '../helpers/x509.js';

const ME = 'spiffe://example.org/bastion';
const LIMITS = { maxOutputBytes: 64 * 1024, timeoutMs: 5_000 };
const code = (expected: string) => (e: unknown) => e instanceof BastionError && e.code === expected;

describe('HTTP transport: mutual TLS with a client certificate', () => {
  let trustDomain: TestCa;
  let otherCa: TestCa;
  let server: Server;
  let port = 0;
  const peers: (string | undefined)[] = [];

  before(async () => {
    trustDomain = testCa('trust domain');
    otherCa = testCa('another CA');
    const serverLeaf = trustDomain.issue({
      uris: ['spiffe://example.org/api'],
      dns: ['mtls.internal.test'],
    });
    server = createServer(
      {
        key: serverLeaf.keyPem,
        cert: serverLeaf.certPem,
        ca: trustDomain.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        peers.push(peer.subjectaltname);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ peer: peer.subjectaltname }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    trustDomain.remove();
    otherCa.remove();
  });

  const client = (
    leaf = trustDomain.issue({ uris: [ME] }),
    bundle: string | undefined = trustDomain.certPem,
  ): ClientCertificate => ({
    certificateChain: leaf.certPem,
    privateKey: Secret.fromString(leaf.keyPem),
    bundle,
  });
  const send = (
    clientCertificate: ClientCertificate,
    extra: { base?: string; ca?: string } = {},
  ) => {
    const connect = loopbackOnlyConnect();
    const result = httpRequest({
      base: extra.base ?? `https://mtls.internal.test:${port}`,
      method: 'GET',
      path: '/whoami',
      limits: LIMITS,
      lookup: fakeDns({ 'mtls.internal.test': '127.0.0.1' }),
      connect,
      clientCertificate,
      ca: extra.ca,
    });
    return { result, connect };
  };

  it('presents the certificate, and verifies the target against the bundle', async () => {
    const { result, connect } = send(client());
    const r = await result;
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { peer: `URI:${ME}` });
    assert.deepEqual(connect.attempts, ['127.0.0.1']);
  });

  it('without a client certificate the server refuses the handshake (control)', async () => {
    await assert.rejects(
      httpRequest({
        base: `https://mtls.internal.test:${port}`,
        method: 'GET',
        path: '/whoami',
        limits: LIMITS,
        lookup: fakeDns({ 'mtls.internal.test': '127.0.0.1' }),
        connect: loopbackOnlyConnect(),
        ca: trustDomain.certPem,
      }),
      code('http_connect_failed'),
    );
  });

  it('with a bundle, the target must chain to it alone: an extra trusted CA does not count', async () => {
    // The connector's extra CA is the target's CA, but the bundle is another CA's.
    const { result } = send(client(trustDomain.issue({ uris: [ME] }), otherCa.certPem), {
      ca: trustDomain.certPem,
    });
    await assert.rejects(result, code('http_connect_failed'));
    // Without a bundle, the extra CA verifies the target as for any other request.
    const plain = send(client(trustDomain.issue({ uris: [ME] }), undefined), {
      ca: trustDomain.certPem,
    });
    assert.equal((await plain.result).status, 200);
  });

  it('refuses, before connecting, a key its certificate does not certify, or a disposed one', async () => {
    const mismatched = client();
    const stranger = trustDomain.issue({ uris: [ME] });
    const wrong = { ...mismatched, privateKey: Secret.fromString(stranger.keyPem) };
    const a = send(wrong);
    await assert.rejects(a.result, code('http_client_certificate_unusable'));
    assert.deepEqual(a.connect.attempts, []);
    const disposed = client();
    disposed.privateKey.dispose();
    const b = send(disposed);
    await assert.rejects(b.result, code('http_client_certificate_unusable'));
    assert.deepEqual(b.connect.attempts, []);
  });

  it('the HTTP connector presents an x509_svid where its rule says so, and nothing else there', async () => {
    const target = `https://mtls.internal.test:${port}`;
    const connector = new HttpConnector({
      credentials: [{ targets: [target], type: 'x509_svid' }],
      lookup: fakeDns({ 'mtls.internal.test': '127.0.0.1' }),
      connect: loopbackOnlyConnect(),
    });
    const leaf = trustDomain.issue({ uris: [ME] });
    const svid: X509SvidCredential = {
      type: 'x509_svid',
      target,
      spiffeId: ME,
      certificateChain: leaf.certPem,
      privateKey: Secret.fromString(leaf.keyPem),
      bundle: trustDomain.certPem,
      expiresAt: new Date(Date.now() + 60_000),
      scopedTo: 'test',
      issuedBy: 'spire',
    };
    const ctx = (credential: Credential) => ({
      credential,
      target,
      operation: connector.parseOperation({ method: 'GET', path: '/whoami' }),
      acContext: acFor(target, Date.now()),
      limits: LIMITS,
      signal: new AbortController().signal,
    });
    const r = await connector.run(ctx(svid));
    assert.deepEqual(JSON.parse(r.body), { peer: `URI:${ME}` });
    const bearer: Credential = {
      type: 'oauth',
      target,
      accessToken: Secret.fromString('t'),
      tokenType: 'Bearer',
      expiresAt: new Date(Date.now() + 60_000),
      scopedTo: 'test',
      issuedBy: 'spire',
    };
    await assert.rejects(connector.run(ctx(bearer)), code('http_credential_invalid'));
    await assert.rejects(
      connector.run(ctx({ ...svid, target: `${target}/other` })),
      code('http_credential_invalid'),
    );
  });

  it('refuses a client certificate for a plain-http target', async () => {
    const { result, connect } = send(client(), { base: `http://mtls.internal.test:${port}` });
    await assert.rejects(result, code('http_client_certificate_unusable'));
    assert.deepEqual(connect.attempts, []);
  });
});
