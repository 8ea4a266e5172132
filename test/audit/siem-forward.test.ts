/**
 * The live SIEM forwarder (`audit.forward`) against a real rsyslogd on 127.0.0.1 (its own
 * RFC 5424 parser is the third-party check): every durable record arrives in order, over
 * TCP and over TLS (RFC 5425, the collector's certificate checked against the configured
 * CA: a collector whose certificate another CA signed gets nothing); a collector that goes
 * away and comes back gets what was written meanwhile; a full queue drops and counts; a
 * collector off this host is never connected to in tests; and forwarding never fails an
 * authorization, whatever the collector does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { freePort } from '../../src/base/free-port.js';
import { SiemForwarder } from '../../src/audit/siem/forwarder.js';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { capturedLogger } from '../helpers/logs.js';
import { verifyOcsfTrail } from '../helpers/ocsf-verify.js';
import {
  type Collector,
  type Received,
  rsyslogAvailable,
  startCollector,
} from '../helpers/rsyslog.js';
import { findIn, needle } from '../helpers/scan.js';
import { testCa } from '../helpers/x509.js';

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** Connects to loopback only; records every host asked for; anything else throws. */
function loopbackOnly(): ((host: string, port: number) => Socket) & { attempts: string[] } {
  const attempts: string[] = [];
  const fn = ((host: string, port: number) => {
    attempts.push(host);
    if (!LOOPBACK.test(host)) throw new Error('the test refuses to connect off this host');
    return connect({ host, port });
  }) as ((host: string, port: number) => Socket) & { attempts: string[] };
  fn.attempts = attempts;
  return fn;
}

const alice = generatePrincipalKey();

function brokerYaml(dataDir: string, forward: string): string {
  return `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: silent
audit:
  forward:
${forward}
accords:
  - id: ops
    principals: [${alice.did}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*.internal.test"]
    capabilities: [read]
    max_duration: 15m
`;
}

async function startBroker(forward: string, connect: ReturnType<typeof loopbackOnly>) {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-forward-'));
  const config = parseConfig(brokerYaml(join(dir, 'data'), forward), join(dir, 'bastion.yaml'));
  return await startServer({ config, logDestination: false, forwardConnect: connect });
}

async function authorize(server: RunningServer, n: number): Promise<string[]> {
  const client = new BastionClient({ url: server.url, key: alice });
  const tokens: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const r = await client.authorize({
      accord: 'ops',
      connector: 'ssh',
      target: `web${i}.internal.test`,
      capabilities: ['read'],
      duration_seconds: 60,
    });
    assert.equal(r.status, 'active');
    tokens.push(r.ac);
  }
  return tokens;
}

const seqOf = (r: Received): number => Number(/seq="(\d+)"/.exec(r.sd)?.[1]);
const ocsfOf = (r: Received) => JSON.parse(r.msg.replace(/^\ufeff/, '')) as Record<string, unknown>;
/** Every entry up to `head` and a checkpoint of `head` have arrived. */
const hasAll = (head: number) => (got: Received[]) => {
  const seqs = new Set(got.filter((r) => r.msgid !== 'checkpoint').map(seqOf));
  const all = Array.from({ length: head }, (_, i) => i + 1).every((s) => seqs.has(s));
  return all && got.some((r) => r.msgid === 'checkpoint' && seqOf(r) === head);
};

describe(
  'audit.forward to a real rsyslogd',
  { skip: !rsyslogAvailable() && !process.env['CI'] },
  () => {
    const ca = testCa('bastion test collector CA');
    const otherCa = testCa('another CA');
    const dir = mkdtempSync(join(tmpdir(), 'bastion-collector-tls-'));
    const collectors: Collector[] = [];
    const servers: RunningServer[] = [];
    before(() => {
      const leaf = ca.issue({ dns: ['localhost'], ips: ['127.0.0.1'] });
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'other-ca.pem'), otherCa.certPem);
      writeFileSync(join(dir, 'cert.pem'), leaf.certPem);
      writeFileSync(join(dir, 'key.pem'), leaf.keyPem, { mode: 0o600 });
    });
    after(async () => {
      for (const s of servers) await s.close();
      for (const c of collectors) {
        await c.stop();
        c.remove();
      }
      ca.remove();
      otherCa.remove();
    });
    const tlsFiles = () => ({
      caFile: join(dir, 'ca.pem'),
      certFile: join(dir, 'cert.pem'),
      keyFile: join(dir, 'key.pem'),
    });

    it('sends every record over TCP as RFC 5424 with OCSF, in order, and resumes after the collector returns', async () => {
      const collector = await startCollector();
      collectors.push(collector);
      const guard = loopbackOnly();
      const server = await startBroker(
        `    - { transport: syslog-tcp, address: 127.0.0.1:${collector.port}, app_name: bastion-test }`,
        guard,
      );
      servers.push(server);
      const tokens = await authorize(server, 3);
      await server.audit.checkpoint();
      let head = (await server.store.auditHead())?.seq ?? 0;
      let got = await collector.until(hasAll(head));
      for (const r of got) {
        assert.equal(r.version, '1');
        assert.equal(r.app, 'bastion-test');
        assert.equal(r.procid, String(process.pid));
        assert.match(r.sd, /^\[bastion@32473 seq="\d+" hash="[0-9a-f]{64}" (prev|kid)="[^"]+"\]$/);
      }
      assert.deepEqual(
        got.filter((r) => r.msgid !== 'checkpoint').map(seqOf),
        Array.from({ length: head }, (_, i) => i + 1),
        'in chain order, once each',
      );
      const jwks = (await (
        await fetch(`${server.url}/.well-known/jwks.json`)
      ).json()) as JSONWebKeySet;
      await verifyOcsfTrail(got.map(ocsfOf), jwks);
      // The collector goes away: the forwarder notices, the broker authorizes as before.
      const [forwarder] = server.forwarders;
      assert.ok(forwarder);
      const failuresBefore = forwarder.stats().failures;
      await collector.stop();
      await waitFor(() => forwarder.stats().failures > failuresBefore);
      tokens.push(...(await authorize(server, 2)));
      await server.audit.checkpoint();
      head = (await server.store.auditHead())?.seq ?? 0;
      await collector.restart();
      got = await collector.until(hasAll(head));
      await verifyOcsfTrail(got.map(ocsfOf), jwks);
      assert.deepEqual(forwarder.stats().dropped, 0);
      assert.deepEqual(
        guard.attempts.every((h) => h === '127.0.0.1'),
        true,
      );
      // No AC token reached the collector (the scan finds what is there: an entry's hash).
      const all = Buffer.from(JSON.stringify(got));
      const someHash = /hash="([0-9a-f]{64})"/.exec(got[0]?.sd ?? '')?.[1] ?? '';
      assert.deepEqual(findIn(all, [needle('hash', someHash)]), ['hash']);
      assert.deepEqual(
        findIn(
          all,
          tokens.map((t, i) => needle(`ac ${i}`, t)),
        ),
        [],
      );
    });

    it('sends over TLS to a collector whose certificate the configured CA signed, and to no other', async () => {
      const good = await startCollector({ tls: tlsFiles() });
      const wrong = await startCollector({ tls: tlsFiles() });
      collectors.push(good, wrong);
      const server = await startBroker(
        [
          `    - { transport: syslog-tls, address: 127.0.0.1:${good.port}, ca_file: ${join(dir, 'ca.pem')}, format: jsonl }`,
          `    - { transport: syslog-tls, address: 127.0.0.1:${wrong.port}, ca_file: ${join(dir, 'other-ca.pem')} }`,
        ].join('\n'),
        loopbackOnly(),
      );
      servers.push(server);
      await authorize(server, 2);
      await server.audit.checkpoint();
      const head = (await server.store.auditHead())?.seq ?? 0;
      const got = await good.until(hasAll(head));
      // jsonl: the MSG is the sink's line for the record.
      const first = JSON.parse(got[0]?.msg.replace(/^\ufeff/, '') ?? '') as { seq: number };
      assert.equal(first.seq, 1);
      const [, refused] = server.forwarders;
      assert.ok(refused);
      await waitFor(() => refused.stats().failures >= 2);
      assert.equal(refused.stats().sent, 0);
      assert.deepEqual(wrong.received(), []);
    });

    it('never connects off this host, and the broker authorizes all the same', async () => {
      const guard = loopbackOnly();
      const server = await startBroker(
        `    - { transport: syslog-tcp, address: 192.0.2.10:514 }`,
        guard,
      );
      servers.push(server);
      await authorize(server, 2);
      const [forwarder] = server.forwarders;
      assert.ok(forwarder);
      // Asked for, refused (and retried after a backoff), never connected.
      assert.ok(guard.attempts.length >= 1);
      assert.ok(guard.attempts.every((h) => h === '192.0.2.10'));
      assert.equal(forwarder.stats().sent, 0);
      assert.ok(forwarder.stats().queued >= 2);
    });
  },
);

describe('SiemForwarder', () => {
  it('holds at most its queue limit, drops the rest, counts and logs them, and never throws', async () => {
    const port = await freePort(); // nobody listens: every connection fails
    const { logger, text } = capturedLogger();
    const forwarder = new SiemForwarder({
      target: { format: 'ocsf', transport: 'syslog-tcp', host: '127.0.0.1', port, appName: 'b' },
      logger,
      queueLimit: 3,
      connect: loopbackOnly(),
    });
    const entry = (seq: number) => ({
      entry: {
        seq,
        ts: '2026-12-01T00:00:00.000Z',
        type: 'authorize' as const,
        prev: '0'.repeat(64),
        hash: 'a'.repeat(64),
      },
    });
    forwarder.enqueue([1, 2, 3, 4, 5].map(entry));
    assert.deepEqual(
      { dropped: forwarder.stats().dropped, queued: forwarder.stats().queued },
      { dropped: 2, queued: 3 },
    );
    assert.match(text(), /"dropped":2.*audit forward: records dropped/);
    forwarder.close();
    forwarder.enqueue([entry(6)]);
    assert.equal(forwarder.stats().queued, 3);
  });
});

async function waitFor(test: () => boolean): Promise<void> {
  for (let i = 0; !test(); i += 1) {
    if (i > 3000) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
