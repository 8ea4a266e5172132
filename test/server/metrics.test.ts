/**
 * Prometheus metrics through real brokers: each metric family moved by real traffic (an
 * SSH invocation against a real sshd, a refusal, a failed backend, rate limits, a pending
 * approval), labels that never carry a DID, a target, a URL or a marker the caller sent,
 * and where /metrics is served (the API's listener, a listener of its own, or nowhere).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/base/free-port.js';
import { BastionClient, BrokerError } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { acFor } from '../helpers/backends.js';
import { testConfigYaml, type TestBroker } from '../helpers/broker.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';
import { scrape, valueOf } from '../helpers/prometheus.js';

const INVOKE = '/connectors/ssh/invoke';

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof BrokerError && e.code === code);
}

describe('metrics of an invocation broker', () => {
  let b: ConnectorBroker;
  before(async () => {
    b = await startConnectorBroker();
  });
  after(() => b.close());

  it('counts requests, invocations, resolutions, audit writes and fsyncs', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const run = () =>
      b.client().invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv: ['true'] } });
    assert.equal((await run()).credential.issued_by, 'spy');
    // The spy backend answers with a credential for another target: refused, and the
    // configured dev backend (next in order) issues one, from a CA sshd does not trust.
    b.spy.next = () =>
      b.dev.resolve('ssh_cert', 'elsewhere.test', acFor('elsewhere.test', Date.now()));
    await refusedWith(run(), 'ssh_auth_failed');
    await refusedWith(
      b.client().invoke('ssh', ac.token, {
        target: '127.0.0.1',
        operation: { command: 'rm -rf /tmp/nothing' },
      }),
      'command_not_allowed',
    );

    const { samples } = await scrape(`${b.server.url}/metrics`);
    const post = (code: string) => ({ method: 'POST', route: INVOKE, code });
    assert.equal(valueOf(samples, 'bastion_http_requests_total', post('ok')), 1);
    assert.equal(valueOf(samples, 'bastion_http_requests_total', post('ssh_auth_failed')), 1);
    assert.equal(valueOf(samples, 'bastion_http_requests_total', post('command_not_allowed')), 1);
    const authorize = { method: 'POST', route: '/governance/authorize/', code: 'ok' };
    assert.equal(valueOf(samples, 'bastion_http_requests_total', authorize), 1);
    assert.equal(
      valueOf(samples, 'bastion_http_request_duration_seconds_count', post('ok')),
      1,
      'the latency histogram has the same labels',
    );
    const invocations = (outcome: string) =>
      valueOf(samples, 'bastion_invocations_total', { connector: 'ssh', outcome });
    assert.equal(invocations('ok'), 1);
    assert.equal(invocations('denied'), 1);
    assert.equal(invocations('failed'), 1);
    const resolutions = (backend: string, reason: string) =>
      valueOf(samples, 'bastion_credential_resolutions_total', { backend, reason });
    assert.equal(resolutions('spy', 'issued'), 1);
    assert.equal(resolutions('spy', 'target_mismatch'), 1);
    assert.equal(resolutions('dev', 'issued'), 1);

    // authorize (1 entry), two invocations of 3 writes and 4 entries each, a denial (1).
    const writes = valueOf(samples, 'bastion_audit_write_duration_seconds_count') ?? 0;
    const entries = valueOf(samples, 'bastion_audit_batch_entries_sum') ?? 0;
    assert.equal(writes, 8);
    assert.equal(entries, 10);
    assert.equal(valueOf(samples, 'bastion_audit_batch_entries_count'), writes);
    // Every audit write of the file store reached the disk (a journal line at least).
    const syncs = valueOf(samples, 'bastion_store_sync_duration_seconds_count') ?? 0;
    assert.ok(syncs >= writes, `durable store writes: ${syncs}`);
    assert.equal(valueOf(samples, 'bastion_approvals_pending'), 0);
  });

  it('never takes a DID, a target, a URL or a body value as a label', async () => {
    const marker = newMarker();
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    await b.client().invoke('bascule', ac.token, {
      target: 'db1.internal.test',
      operation: { argv: ['echo', marker] },
    });
    // The marker where a label could pick it up: the path of a route with a parameter, a
    // path no route takes, its query, and a body no route reads.
    const sent = [
      fetch(`${b.server.url}/connectors/${marker.toLowerCase()}/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target: marker, operation: {} }),
      }),
      fetch(`${b.server.url}/${marker}?did=${b.alice.did}`),
      fetch(`${b.server.url}/governance/authorize/?${marker}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accord: marker, target: 'db1.internal.test' }),
      }),
    ];
    for (const res of await Promise.all(sent)) assert.ok(res.status >= 400);

    const { text, samples } = await scrape(`${b.server.url}/metrics`);
    expectNoMarker(text, marker, '/metrics');
    expectNoMarker(text, marker.toLowerCase(), '/metrics');
    for (const value of [b.alice.did, 'db1.internal.test', b.server.url]) {
      assert.ok(!text.includes(value), 'a caller-chosen value is a label');
    }
    const routes = new Set(samples.flatMap((s) => s.labels['route'] ?? []));
    assert.ok(routes.has('unmatched'), 'a path no route takes is counted as unmatched');
    assert.ok(routes.has('/connectors/:connector/invoke'), 'a route is its pattern');
  });
});

function newKeys(): TestBroker['keys'] {
  const [alice, bob, carol, admin, mallory] = Array.from({ length: 5 }, generatePrincipalKey);
  return { alice: alice!, bob: bob!, carol: carol!, admin: admin!, mallory: mallory! };
}

/** A broker of test/helpers/broker.ts's configuration with other limits and settings. */
async function startBroker(
  limits: string,
  extra = '',
  options: { listen?: string; logs?: NodeJS.WritableStream } = {},
): Promise<{ server: RunningServer; keys: TestBroker['keys'] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-metrics-'));
  const keys = newKeys();
  const yaml = testConfigYaml(dataDir, keys, extra)
    .replace('limits: { body_bytes: 4096, rate_per_minute: 1000 }', `limits: ${limits}`)
    .replace('listen: 127.0.0.1:0', `listen: ${options.listen ?? '127.0.0.1:0'}`);
  const config = parseConfig(yaml, join(dataDir, 'bastion.yaml'));
  return {
    server: await startServer({ config, logDestination: options.logs ?? false }),
    keys,
  };
}

describe('metrics of governance and limits', () => {
  it('counts pending approvals and rate-limit refusals by scope', async () => {
    const { server, keys } = await startBroker(
      '{ rate_per_minute: 2, auth_failures_per_minute: 1 }',
    );
    try {
      const alice = new BastionClient({ url: server.url, key: keys.alice });
      const pending = await alice.authorize({
        accord: 'prod-write',
        connector: 'ssh',
        target: 'db.prod.test',
        capabilities: ['read'],
        duration_seconds: 600,
        justification: 'metrics test',
      });
      assert.equal(pending.status, 'pending_approval');
      let { samples } = await scrape(`${server.url}/metrics`);
      assert.equal(valueOf(samples, 'bastion_approvals_pending'), 1);

      // Past alice's 2 requests a minute: refused per principal.
      await alice.listAcs();
      await refusedWith(alice.listAcs(), 'rate_limited');
      // A proof that does not verify, twice from one address: the second is cut off there.
      const bad = { authorization: 'DPoP x', dpop: 'not-a-proof' };
      const first = await fetch(`${server.url}/governance/acs`, { headers: bad });
      assert.equal(first.status, 401);
      const second = await fetch(`${server.url}/governance/acs`, { headers: bad });
      assert.equal(second.status, 429);

      ({ samples } = await scrape(`${server.url}/metrics`));
      const refusals = (scope: string) =>
        valueOf(samples, 'bastion_rate_limit_refusals_total', { scope });
      assert.equal(refusals('principal'), 1);
      assert.equal(refusals('address'), 1);
    } finally {
      await server.close();
    }
  });

  it('serves the metrics on a listener of their own, or not at all', async () => {
    const port = await freePort();
    const own = await startBroker(
      '{ rate_per_minute: 1000 }',
      `metrics: { listen: "127.0.0.1:${port}", path: /prom }\n`,
    );
    const off = await startBroker('{ rate_per_minute: 1000 }', 'metrics: { enabled: false }\n');
    try {
      for (const path of ['/metrics', '/prom']) {
        assert.equal((await fetch(`${own.server.url}${path}`)).status, 404, path);
      }
      const { samples } = await scrape(`http://127.0.0.1:${port}/prom`);
      assert.equal(valueOf(samples, 'bastion_approvals_pending'), 0);
      assert.equal((await fetch(`${off.server.url}/metrics`)).status, 404);
      // Both sections are read at start: a reload says a restart is due.
      const next = { ...off.server.config, metrics: undefined, tracing: own.server.config.tracing };
      assert.deepEqual(off.server.reload(next).needsRestart, ['metrics']);
    } finally {
      await own.server.close();
      await off.server.close();
    }
    // Closed with its broker: nothing answers there any more.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/prom`));
  });

  it('warns when the API listener serves them beyond loopback, not on a metrics listener', async () => {
    const warning = /metrics are served unauthenticated on a non-loopback address/;
    const port = await freePort();
    // 0.0.0.0: every interface. Nothing is sent to it; the broker stops once it has started.
    for (const [extra, warned] of [
      ['', true],
      [`metrics: { listen: "127.0.0.1:${port}" }\n`, false],
    ] as const) {
      const lines: string[] = [];
      const logs = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      const { server } = await startBroker('{ rate_per_minute: 1000 }', extra, {
        listen: '0.0.0.0:0',
        logs,
      });
      await server.close();
      assert.equal(warning.test(lines.join('')), warned, extra);
    }
  });

  it('refuses a metrics or tracing section it cannot take, naming the key', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-metrics-'));
    const keys = newKeys();
    const parse = (extra: string) =>
      parseConfig(testConfigYaml(dataDir, keys, extra), join(dataDir, 'bastion.yaml'));
    assert.throws(() => parse('metrics: { path: "metrics" }\n'), /metrics\.path/);
    assert.throws(() => parse('metrics: { listen: "nowhere" }\n'), /metrics\.listen/);
    assert.throws(
      () => parse('tracing: { otlp_endpoint: "http://user:pw@127.0.0.1:4318/v1/traces" }\n'),
      /tracing\.otlp_endpoint/,
    );
    assert.throws(() => parse('tracing: {}\n'), /tracing/);
    const config = parse('tracing: { otlp_endpoint: "http://127.0.0.1:4318/v1/traces" }\n');
    assert.equal(config.tracing?.service_name, 'bastion');
    assert.equal(parse('').tracing, undefined, 'no traces unless configured');
  });
});
