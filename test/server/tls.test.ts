/**
 * `bastion serve` with `tls:` speaks HTTPS (a real TLS handshake against a throwaway CA),
 * refuses a key file others may read, and on SIGHUP serves a new certificate to new
 * connections without closing its listener. Without TLS on a non-loopback address it warns
 * on stderr and in the log; on 127.0.0.1 it does not.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server/app.js';
import { type ChildBroker, spawnBroker } from '../helpers/child-broker.js';
import { bastionAsync } from '../helpers/cli.js';
import { type Leaf, type TestCa, testCa } from '../helpers/x509.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');

function install(leaf: Leaf): void {
  writeFileSync(certFile, leaf.certPem);
  writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
}

function config(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `data_dir: ${join(dir, `data-${name}`)}\nlog_level: info\n${body}accords: []\n`,
  );
  return file;
}

/** GET over a new TLS connection that trusts only `ca`; the body and the server's cert. */
function httpsGet(
  url: string,
  ca: string,
): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
    });
    req.once('error', reject);
  });
}

describe('bastion serve with tls:', () => {
  let ca: TestCa;
  let first: Leaf;
  let broker: ChildBroker;
  before(async () => {
    ca = testCa('bastion tls test CA');
    first = ca.issue({ ips: ['127.0.0.1'] });
    install(first);
    const file = config(
      'tls',
      `listen: 127.0.0.1:0\ntls: { cert_file: ${certFile}, key_file: ${keyFile} }\n`,
    );
    broker = await spawnBroker(file);
  });
  after(async () => {
    await broker.stop();
    ca.remove();
  });

  it('speaks HTTPS with the configured certificate', async () => {
    assert.match(broker.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await httpsGet(`${broker.url}/healthz`, ca.certPem);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
    assert.equal(r.fingerprint, new X509Certificate(first.certPem).fingerprint256);
    // Plain HTTP on that port is not served.
    await assert.rejects(fetch(`${broker.url.replace('https:', 'http:')}/healthz`));
  });

  it('serves a new certificate to new connections after SIGHUP, on the same listener', async () => {
    const second = ca.issue({ ips: ['127.0.0.1'] });
    install(second);
    const reloaded = broker.nextLog(/TLS certificate and key reloaded/);
    broker.child.kill('SIGHUP');
    await reloaded;
    const r = await httpsGet(`${broker.url}/healthz`, ca.certPem);
    assert.equal(r.status, 200);
    assert.equal(r.fingerprint, new X509Certificate(second.certPem).fingerprint256);
    assert.notEqual(r.fingerprint, new X509Certificate(first.certPem).fingerprint256);
  });

  it('keeps the current certificate when the new key file is readable by others', async () => {
    const current = ca.issue({ ips: ['127.0.0.1'] });
    install(current);
    let reloaded = broker.nextLog(/TLS certificate and key reloaded/);
    broker.child.kill('SIGHUP');
    await reloaded;
    const third = ca.issue({ ips: ['127.0.0.1'] });
    install(third);
    chmodSync(keyFile, 0o644);
    const failed = broker.nextLog(/TLS reload failed/);
    broker.child.kill('SIGHUP');
    assert.match(await failed, /chmod 600/);
    const r = await httpsGet(`${broker.url}/healthz`, ca.certPem);
    assert.equal(r.fingerprint, new X509Certificate(current.certPem).fingerprint256);
    chmodSync(keyFile, 0o600);
    reloaded = broker.nextLog(/TLS certificate and key reloaded/);
    broker.child.kill('SIGHUP');
    await reloaded;
  });

  it('refuses to start with a key file others may read, naming the file', async () => {
    const leaf = ca.issue({ ips: ['127.0.0.1'] });
    const loose = join(dir, 'loose-key.pem');
    writeFileSync(loose, leaf.keyPem);
    chmodSync(loose, 0o644);
    const file = config(
      'loose',
      `listen: 127.0.0.1:0\ntls: { cert_file: ${certFile}, key_file: ${loose} }\n`,
    );
    const r = await bastionAsync(['serve', '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `invalid_config: Invalid configuration at ${loose}: key file must not be readable by group or others`,
      ),
    );
  });

  it("refuses to start with a key that is not the certificate's", async () => {
    const other = ca.issue({ ips: ['127.0.0.1'] });
    const wrong = join(dir, 'wrong-key.pem');
    writeFileSync(wrong, other.keyPem, { mode: 0o600 });
    const file = config(
      'wrong',
      `listen: 127.0.0.1:0\ntls: { cert_file: ${certFile}, key_file: ${wrong} }\n`,
    );
    const r = await bastionAsync(['serve', '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /is not a PEM private key matching tls\.cert_file/);
  });
});

describe('startServer with tls:', () => {
  it('zero-fills the key bytes it read once the server has built its TLS context', async () => {
    const ca = testCa('bastion tls wipe CA');
    const leaf = ca.issue({ ips: ['127.0.0.1'] });
    const cert = join(dir, 'wipe-cert.pem');
    const key = join(dir, 'wipe-key.pem');
    writeFileSync(cert, leaf.certPem);
    writeFileSync(key, leaf.keyPem, { mode: 0o600 });
    const data = join(dir, 'data-wipe');
    const server = await startServer({
      config: parseConfig(
        `listen: 127.0.0.1:0\ndata_dir: ${data}\ntls: { cert_file: ${cert}, key_file: ${key} }\naccords: []\n`,
        join(dir, 'wipe.yaml'),
      ),
      logDestination: false,
    });
    try {
      // Node's TLS server keeps the Buffer it was given: the very bytes Bastion read.
      const held = (server.app.server as unknown as { key?: unknown }).key;
      assert.ok(Buffer.isBuffer(held) && held.length > 100, 'the server holds the key buffer');
      assert.ok(
        held.every((byte) => byte === 0),
        'and it is zero-filled',
      );
      // The context was built before: the server still completes handshakes with the key.
      const r = await httpsGet(`${server.url}/healthz`, ca.certPem);
      assert.equal(r.status, 200);
    } finally {
      await server.close();
      ca.remove();
    }
  });
});

/** Stops the broker and gives all it wrote on stderr (read to the end of the stream). */
async function stopAndRead(broker: ChildBroker): Promise<string> {
  const closed = new Promise((resolve) => broker.child.once('close', resolve));
  await broker.stop();
  await closed;
  return broker.logs();
}

describe('bastion serve over plain HTTP', () => {
  it('warns on stderr and in the log when other hosts can reach it', async () => {
    // 0.0.0.0: every interface. Nothing is sent to it; the broker stops once it has started.
    const logs = await stopAndRead(await spawnBroker(config('exposed', 'listen: 0.0.0.0:0\n')));
    assert.match(
      logs,
      /bastion: WARNING: plain HTTP on http:\/\/0\.0\.0\.0:\d+, reachable from other hosts/,
    );
    const line = logs.split('\n').find((l) => l.includes('serving plain HTTP'));
    assert.equal((JSON.parse(line ?? '{}') as { level?: number }).level, 40, 'a warn log line');
  });

  it('does not warn on a loopback address', async () => {
    const logs = await stopAndRead(await spawnBroker(config('loopback', 'listen: 127.0.0.1:0\n')));
    assert.match(logs, /bastion listening/, 'the log was read');
    assert.doesNotMatch(logs, /plain HTTP/);
  });
});
