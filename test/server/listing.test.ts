/**
 * Discoverability against a real broker on 127.0.0.1: a principal lists its own ACs (and an
 * agent the ACs delegated to it), an approver the requests awaiting it, and a webhook on
 * 127.0.0.1 hears of each pending request — without blocking or failing it, without the
 * justification unless configured, never connecting off loopback or to a refused address.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BastionClient, BrokerError } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { type RunningServer, startServer } from '../../src/server/app.js';
import { testConfigYaml, type TestBroker } from '../helpers/broker.js';
import { newMarker } from '../helpers/leak.js';
import { loopbackOnlyConnect } from '../helpers/offhost.js';

/** A webhook receiver: each request's body, in order; `hold` leaves requests unanswered. */
function receiver(hold = false): Promise<{ server: Server; url: string; next(): Promise<string> }> {
  const bodies: string[] = [];
  const waiting: ((body: string) => void)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const waiter = waiting.shift();
      if (waiter !== undefined) waiter(body);
      else bodies.push(body);
      if (!hold) res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://127.0.0.1:${port}`,
        next: () => {
          const body = bodies.shift();
          return body !== undefined
            ? Promise.resolve(body)
            : new Promise((done) => waiting.push(done));
        },
      });
    }),
  );
}

/** Log lines as they come; `until` resolves at the first line matching. */
function logSink(): {
  stream: PassThrough;
  text: () => string;
  until(re: RegExp): Promise<string>;
} {
  const stream = new PassThrough();
  let text = '';
  const waiters: { re: RegExp; done: (line: string) => void }[] = [];
  stream.on('data', (c: Buffer) => {
    text += c.toString();
    for (const w of [...waiters]) {
      const line = text.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(line);
      }
    }
  });
  return {
    stream,
    text: () => text,
    until: (re) => {
      const line = text.split('\n').find((l) => re.test(l));
      return line !== undefined
        ? Promise.resolve(line)
        : new Promise((done) => waiters.push({ re, done }));
    },
  };
}

type Keys = TestBroker['keys'] & { agent: PrincipalKey };

async function broker(
  keys: Keys,
  notifications: string,
  logs: PassThrough,
  connect = loopbackOnlyConnect(),
): Promise<{ server: RunningServer; client: (k: PrincipalKey) => BastionClient }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-listing-'));
  const yaml =
    testConfigYaml(
      dataDir,
      keys,
      `  - id: delegating
    principals: [${keys.alice.did}]
    delegates: [${keys.agent.did}]
    connectors: [ssh]
    targets: ["*.internal.test"]
    capabilities: [read]
    max_duration: 15m
    ssh_login: ops
`,
    ) + notifications;
  const config = parseConfig(yaml, join(dataDir, 'bastion.yaml'));
  const server = await startServer({ config, logDestination: logs, notifyConnect: connect });
  return { server, client: (key) => new BastionClient({ url: server.url, key }) };
}

const keys: Keys = {
  alice: generatePrincipalKey(),
  bob: generatePrincipalKey(),
  carol: generatePrincipalKey(),
  admin: generatePrincipalKey(),
  mallory: generatePrincipalKey(),
  agent: generatePrincipalKey(),
};
const prodWrite = {
  accord: 'prod-write',
  connector: 'ssh',
  target: 'db1.prod.test',
  capabilities: ['write'],
  duration_seconds: 600,
};

describe('listing ACs and approvals; the approval webhook', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  let b: Awaited<ReturnType<typeof broker>>;
  const logs = logSink();
  const connect = loopbackOnlyConnect();

  before(async () => {
    hook = await receiver();
    b = await broker(
      keys,
      `notifications: { webhook_url: "${hook.url}/hook/${'T'.repeat(8)}" }\n`,
      logs.stream,
      connect,
    );
  });
  after(async () => {
    await b.server.close();
    hook.server.close();
  });

  it("lists a principal's own ACs and an agent's delegated ones, newest first, no token", async () => {
    const alice = b.client(keys.alice);
    const own = await alice.authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 60,
    });
    const delegated = await alice.authorize({
      accord: 'delegating',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['read'],
      duration_seconds: 60,
      delegate_to: keys.agent.did,
    });
    const listed = (await alice.listAcs()).acs;
    assert.deepEqual(
      listed.slice(0, 2).map((v) => v.ac_id),
      [delegated.ac_id, own.ac_id],
    );
    assert.ok(listed.every((v) => v.ac === undefined && v.principal_did === keys.alice.did));
    assert.deepEqual(
      (await b.client(keys.agent).listAcs()).acs.map((v) => v.ac_id),
      [delegated.ac_id],
    );
    // Nobody else's: an approver, an admin, a stranger each see only their own (none).
    for (const other of [keys.bob, keys.admin]) {
      assert.deepEqual((await b.client(other).listAcs()).acs, []);
    }
    assert.equal((await alice.listAcs(1)).acs.length, 1);
  });

  it('lists to each approver the requests it has yet to decide, then not', async () => {
    const pending = await b.client(keys.alice).authorize({ ...prodWrite, justification: 'fix' });
    assert.equal(pending.status, 'pending_approval');
    const awaiting = async (k: PrincipalKey): Promise<string[]> =>
      (await b.client(k).awaitingApproval()).acs.map((v) => v.ac_id);
    assert.ok((await awaiting(keys.bob)).includes(pending.ac_id));
    assert.ok((await awaiting(keys.carol)).includes(pending.ac_id));
    // The requester, an admin and a key no accord names as approver see nothing to decide.
    assert.deepEqual(await awaiting(keys.alice), []);
    assert.deepEqual(await awaiting(keys.admin), []);
    await b.client(keys.bob).approve(pending.ac_id);
    assert.ok(!(await awaiting(keys.bob)).includes(pending.ac_id), 'bob has decided');
    assert.ok((await awaiting(keys.carol)).includes(pending.ac_id), 'carol has not');
    await b.client(keys.carol).approve(pending.ac_id);
    assert.ok(!(await awaiting(keys.carol)).includes(pending.ac_id), 'active: nothing to decide');
    const err = await b
      .client(keys.mallory)
      .awaitingApproval()
      .catch((e: unknown) => e);
    assert.ok(err instanceof BrokerError && err.code === 'principal_unknown');
  });

  it('posts Slack-compatible JSON for each pending request, without the justification', async () => {
    const marker = newMarker();
    const pending = await b.client(keys.alice).authorize({ ...prodWrite, justification: marker });
    let body = await hook.next();
    while (!body.includes(pending.ac_id)) body = await hook.next();
    const message = JSON.parse(body) as { text: string; blocks: unknown[] };
    assert.match(message.text, /awaiting approval/);
    assert.ok(message.text.includes(keys.alice.did) && message.text.includes('db1.prod.test'));
    assert.ok(Array.isArray(message.blocks));
    assert.ok(!body.includes(marker), 'the justification stays out unless configured');
    assert.ok(connect.attempts.length > 0 && connect.attempts.every((a) => a === '127.0.0.1'));
    // An AC issued at once is nobody's to approve: no notification for it.
    const active = await b.client(keys.alice).authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target: 'db2.internal.test',
      capabilities: ['read'],
      duration_seconds: 60,
    });
    const next = await b.client(keys.alice).authorize(prodWrite);
    body = await hook.next();
    assert.ok(body.includes(next.ac_id) && !body.includes(active.ac_id));
  });
});

describe('the approval webhook, configured otherwise', () => {
  it('includes the justification when configured', async () => {
    const hook = await receiver();
    const logs = logSink();
    const b = await broker(
      keys,
      `notifications: { webhook_url: "${hook.url}/", include_justification: true }\n`,
      logs.stream,
    );
    try {
      const marker = newMarker();
      await b.client(keys.alice).authorize({ ...prodWrite, justification: marker });
      assert.ok((await hook.next()).includes(`justification: ${marker}`));
    } finally {
      await b.server.close();
      hook.server.close();
    }
  });

  it('never holds up or fails a request: a receiver that never answers, one that is gone', async () => {
    const silent = await receiver(true);
    const logs = logSink();
    const b = await broker(keys, `notifications: { webhook_url: "${silent.url}/" }\n`, logs.stream);
    try {
      // The receiver has the request and has not answered: the request was answered anyway.
      const first = await b.client(keys.alice).authorize(prodWrite);
      assert.equal(first.status, 'pending_approval');
      assert.ok((await silent.next()).includes(first.ac_id));
    } finally {
      await b.server.close();
      silent.server.closeAllConnections();
      silent.server.close();
    }
    const gone = await receiver();
    const goneUrl = gone.url;
    gone.server.close();
    const secret = newMarker();
    const logs2 = logSink();
    const b2 = await broker(
      keys,
      `notifications: { webhook_url: "${goneUrl}/${secret}" }\n`,
      logs2.stream,
    );
    try {
      const r = await b2.client(keys.alice).authorize(prodWrite);
      assert.equal(r.status, 'pending_approval');
      const line = await logs2.until(/approval webhook failed/);
      assert.match(line, new RegExp(r.ac_id));
      assert.ok(!logs2.text().includes(secret), 'the URL, which may hold a token, is not logged');
    } finally {
      await b2.server.close();
    }
  });

  it('refuses a link-local or metadata address without connecting to it', async () => {
    const logs = logSink();
    const connect = loopbackOnlyConnect();
    const b = await broker(
      keys,
      'notifications: { webhook_url: "http://169.254.169.254/hook" }\n',
      logs.stream,
      connect,
    );
    try {
      await b.client(keys.alice).authorize(prodWrite);
      assert.match(await logs.until(/approval webhook failed/), /destination_refused/);
      assert.deepEqual(connect.attempts, []);
    } finally {
      await b.server.close();
    }
  });

  it('takes only an http(s) URL without credentials', () => {
    for (const url of ['ftp://hooks.example.test/x', 'https://u:p@hooks.example.test/', 'x']) {
      const yaml = `accords: []\nnotifications: { webhook_url: "${url}" }\n`;
      assert.throws(
        () => parseConfig(yaml, join(tmpdir(), 'bastion.yaml')),
        /notifications\.webhook_url: must be an http or https URL/,
        url,
      );
    }
  });
});
