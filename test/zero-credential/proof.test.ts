/**
 * The zero-credential proof. A `bastion serve` child process runs invocations over a real
 * sshd and a real Bascule runtime, its dev backend tagging every credential with a marker.
 * Then: the SQLite files (with WAL), the logs, the audit export and sink, every HTTP
 * response, and a heap snapshot of the broker hold no credential in any encoding; where
 * /proc/PID/mem is readable, neither does the broker's memory (the zeroized private-key
 * buffers are gone). Each scan first finds a planted control.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request, createServer } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { startBascule, type RunningBascule } from '../../src/bascule/runtime.js';
import { BastionClient } from '../../src/client/client.js';
import { sshString } from '../../src/ssh/wire.js';
import { newMarker } from '../helpers/leak.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createPrivateKey } from 'node:crypto';
import { rawEd25519Seed } from '../../src/ssh/ed25519.js';
import { writePrincipalKey } from '../../src/governance/did-key.js';
import { RecordingTransport } from '../helpers/mcp.js';
import { MAIN, spawnBroker, waitForLine, type ChildBroker } from '../helpers/child-broker.js';
import { findIn, needle, type Needle, scanDir, scanProcessMemory } from '../helpers/scan.js';
import { startSshd } from '../helpers/sshd.js';

/** Asks a node child (started with --heapsnapshot-signal=SIGUSR2) for a snapshot; returns its bytes. */
async function heapSnapshot(child: ChildProcess, cwd: string): Promise<Buffer> {
  const before = new Set(readdirSync(cwd));
  child.kill('SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await sleep(100);
    const file = readdirSync(cwd).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    const size = statSync(join(cwd, file)).size;
    await sleep(300);
    if (size > 0 && statSync(join(cwd, file)).size === size) return readFileSync(join(cwd, file));
  }
  throw new Error('no heap snapshot');
}

/** A node child holding `text` in memory (a string and the decoded PEM body in a Buffer). */
function holdingChild(text: string, cwd: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--heapsnapshot-signal=SIGUSR2',
      '-e',
      `let t='';process.stdin.on('data',d=>t+=d);process.stdin.on('end',()=>{globalThis.keep=[t,Buffer.from(t.split('\\n').filter(l=>!l.startsWith('-')).join(''),'base64')];console.log('ready 1')});setInterval(()=>{},1000)`,
    ],
    { cwd, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin?.end(text);
  return waitForLine(child, /ready (\d)/).then(() => child);
}

/** A Unix-socket HTTP proxy that records the Authorization header of each request. */
function recordingProxy(listenPath: string, upstreamPath: string, seen: string[]) {
  const server = createServer((req, res) => {
    seen.push(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const up = request(
      { socketPath: upstreamPath, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  return new Promise<typeof server>((resolve) => server.listen(listenPath, () => resolve(server)));
}

describe('zero-credential proof', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-proof-'));
  const dataDir = join(dir, 'data');
  const snapDir = join(dir, 'snapshots');
  mkdirSync(snapDir);
  const marker = newMarker();
  const user = userInfo().username;
  const alice = writePrincipalKey(join(dir, 'alice.key'));
  const oauthTokens: string[] = [];
  const acTokens: string[] = [];
  const transcripts: RecordingTransport[] = [];
  let api: ReturnType<typeof createServer>;
  let apiBase = '';
  const grants: string[] = [];
  const responses: string[] = [];
  let broker: ChildBroker;
  let child: ChildProcess;
  let bascule: RunningBascule;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let sshd: Awaited<ReturnType<typeof startSshd>>;
  let url = '';

  // The marker as it sits inside a private key: an SSH string (length, then the comment).
  const keyComment = needle('ssh private key', sshString(`bastion-ephemeral ${marker}`));
  // The marker inside a dev OAuth token's claims, as base64url JSON.
  const tokenClaim = needle('oauth token (claim)', `"marker":"${marker}"`);
  const jwtNeedles = (label: string, tokens: string[]): Needle[] =>
    tokens.flatMap((t) => [needle(label, t), needle(`${label} signature`, t.split('.')[2] ?? t)]);
  const grantNeedles = (): Needle[] => jwtNeedles('bascule grant', grants);
  const everything = (): Needle[] => [
    needle('marker', marker),
    keyComment,
    tokenClaim,
    ...grantNeedles(),
    ...jwtNeedles('oauth access token', oauthTokens),
  ];

  before(async () => {
    let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
    api = createServer((req, res) => {
      void (async () => {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        oauthTokens.push(token);
        try {
          jwks ??= createLocalJWKSet(
            JSON.parse(readFileSync(join(dataDir, 'dev-jwks.json'), 'utf8')) as JSONWebKeySet,
          );
          const { payload } = await jwtVerify(token, jwks, { audience: apiBase, typ: 'at+jwt' });
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
    apiBase = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    sshd = await startSshd({ caPublicKeys: [], principals: { [user]: [user] } });
    writeFileSync(join(dir, 'known_hosts'), sshd.knownHostsText);
    const basculeSock = join(dir, 'bascule.sock');
    const proxySock = join(dir, 'proxy.sock');
    writeFileSync(
      join(dir, 'bastion.yaml'),
      `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: debug
admins: [${alice.did}]
connectors:
  ssh: { known_hosts: ${join(dir, 'known_hosts')}, hosts: { "127.0.0.1": { port: ${sshd.port} } } }
  bascule: { targets: { "db1.internal.test": "unix:${proxySock}" } }
backends:
  - kind: dev
accords:
  - id: ssh-ops
    principals: [${alice.did}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    commands: { allow: ["*"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
    ssh_login: ${user}
  - id: bascule-ops
    principals: [${alice.did}]
    connectors: [bascule]
    targets: ["db1.internal.test"]
    capabilities: [exec]
    max_duration: 15m
  - id: api
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${apiBase}"]
    capabilities: [read]
    max_duration: 15m
`,
    );
    broker = await spawnBroker(join(dir, 'bastion.yaml'), {
      cwd: snapDir,
      env: { BASTION_DEV_CREDENTIAL_MARKER: marker },
      nodeArgs: ['--heapsnapshot-signal=SIGUSR2'],
    });
    child = broker.child;
    url = broker.url;
    sshd.setCaKeys([readFileSync(join(dataDir, 'dev-ca.pub'), 'utf8').trim()]);
    bascule = await startBascule({
      name: 'db1.internal.test',
      jwksUrl: `${url}/.well-known/jwks.json`,
      socket: basculeSock,
      auditFile: join(dir, 'bascule-audit.jsonl'),
      logDestination: false,
    });
    proxy = await recordingProxy(proxySock, basculeSock, grants);

    const client = new BastionClient({
      url,
      key: alice,
      fetch: async (input, init) => {
        const r = await fetch(input, init);
        responses.push(await r.clone().text());
        return r;
      },
    });
    for (let i = 0; i < 3; i++) {
      const ssh = await client.authorize({
        accord: 'ssh-ops',
        connector: 'ssh',
        target: '127.0.0.1',
        capabilities: ['exec'],
        duration_seconds: 300,
      });
      assert.equal(ssh.status, 'active');
      if (ssh.status !== 'active') return;
      const r = await client.invoke('ssh', ssh.ac, {
        target: '127.0.0.1',
        operation: { argv: ['echo', `run ${i}`], stdin: 'x' },
      });
      assert.equal(r.result.stdout, `run ${i}\n`);
      await assert.rejects(
        client.invoke('ssh', ssh.ac, {
          target: '127.0.0.1',
          operation: { argv: ['rm', '-rf', '/nonexistent'] },
        }),
      );
      const bas = await client.authorize({
        accord: 'bascule-ops',
        connector: 'bascule',
        target: 'db1.internal.test',
        capabilities: ['exec'],
        duration_seconds: 300,
      });
      if (bas.status !== 'active') return;
      const rb = await client.invoke('bascule', bas.ac, {
        target: 'db1.internal.test',
        operation: { argv: ['echo', `bascule ${i}`] },
      });
      assert.equal(rb.result.stdout, `bascule ${i}\n`);
    }
    for (let i = 0; i < 2; i++) {
      const http = await client.authorize({
        accord: 'api',
        connector: 'http',
        target: apiBase,
        capabilities: ['read'],
        duration_seconds: 300,
      });
      if (http.status !== 'active') return;
      const rh = await client.invoke<{ status: number; timed_out: boolean }>('http', http.ac, {
        target: apiBase,
        operation: { method: 'GET', path: '/data' },
      });
      assert.equal(
        rh.result.status,
        200,
        'the API accepted a token for exactly its audience and scope',
      );
    }

    // An agent through the MCP bridge, over stdio and over Streamable HTTP.
    const stdio = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, 'mcp', '--key', join(dir, 'alice.key'), '--url', url],
      stderr: 'pipe',
    });
    await agentSession(new RecordingTransport(stdio));
    const tokenFile = join(dir, 'mcp.token');
    const bridge = spawn(
      process.execPath,
      [
        MAIN,
        'mcp',
        '--key',
        join(dir, 'alice.key'),
        '--url',
        url,
        '--http',
        '127.0.0.1:0',
        '--http-token-file',
        tokenFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      const mcpUrl = await new Promise<string>((resolve, reject) => {
        let err = '';
        bridge.stderr?.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /bastion mcp listening on (\S+)/.exec(err);
          if (m?.[1] !== undefined) resolve(m[1]);
        });
        bridge.once('exit', () => reject(new Error('bridge exited')));
      });
      const http = new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: {
          headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` },
        },
      });
      await agentSession(new RecordingTransport(http));
    } finally {
      bridge.kill('SIGTERM');
    }

    await client.audit({ limit: 1000 });
    assert.equal(grants.length, 5, 'the proxy saw every grant');
    assert.ok(oauthTokens.length >= 4, 'the API saw every token');
  });

  /** An agent lists tools and accords, requests access and invokes http, bascule and ssh. */
  async function agentSession(transport: RecordingTransport): Promise<void> {
    transcripts.push(transport);
    const mcp = new Client({ name: 'proof', version: '0' });
    await mcp.connect(transport);
    try {
      const tools = await mcp.listTools();
      assert.deepEqual(tools.tools.map((t) => t.name).sort(), [
        'audit_tail',
        'invoke',
        'list_accords',
        'request_access',
        'revoke',
      ]);
      await mcp.callTool({ name: 'list_accords', arguments: {} });
      const runs: [string, string, string, Record<string, unknown>, RegExp][] = [
        ['api', 'http', apiBase, { method: 'GET', path: '/data' }, /"status":200/],
        ['bascule-ops', 'bascule', 'db1.internal.test', { argv: ['echo', 'via mcp'] }, /via mcp/],
        ['ssh-ops', 'ssh', '127.0.0.1', { argv: ['echo', 'via mcp'] }, /via mcp/],
      ];
      for (const [accord, connector, target, operation, expect] of runs) {
        const capabilities = connector === 'http' ? ['read'] : ['exec'];
        const granted = await mcp.callTool({
          name: 'request_access',
          arguments: { accord, connector, target, capabilities, duration_seconds: 300 },
        });
        const acId = (
          JSON.parse((granted.content as { text: string }[])[0]?.text ?? '{}') as { ac_id: string }
        ).ac_id;
        const view = await new BastionClient({ url, key: alice }).show(acId);
        acTokens.push(view.ac ?? '');
        const out = await mcp.callTool({ name: 'invoke', arguments: { ac_id: acId, operation } });
        assert.match(
          (out.content as { text: string }[])[0]?.text ?? '',
          expect,
          `${connector} through MCP`,
        );
      }
    } finally {
      await mcp.close();
    }
  }

  after(async () => {
    await broker.stop();
    await bascule.close();
    proxy.close();
    api.close();
    await sshd.stop();
  });

  it('control: each scanner finds a planted credential', async () => {
    const dev = await DevBackend.create({ marker });
    const c = await dev.resolve('ssh_cert', 'h', {
      ac_id: 'a',
      principal_did: 'did:x',
      capability_mask: 2,
      capabilities: ['exec'],
      accord_template: 't',
      connector: 'ssh',
      target: 'h',
      expires_at: Math.floor(Date.now() / 1000) + 600,
      ssh_principals: ['u'],
    });
    const pem = c.privateKey.unsafeReveal().toString('latin1');
    const controlDir = mkdtempSync(join(tmpdir(), 'bastion-control-'));
    writeFileSync(join(controlDir, 'leak.db'), `garbage ${pem} garbage`);
    assert.deepEqual(
      scanDir(controlDir, [keyComment]).flatMap((f) => f.found),
      ['ssh private key'],
    );
    assert.deepEqual(findIn(Buffer.from(JSON.stringify({ msg: pem })), [keyComment]), [
      'ssh private key',
    ]);
    assert.deepEqual(
      findIn(Buffer.from(`{"grant":"${'x'.repeat(40)}"}`), [needle('g', 'x'.repeat(40))]),
      ['g'],
    );
    const holder = await holdingChild(pem, snapDir);
    try {
      assert.deepEqual(findIn(await heapSnapshot(holder, snapDir), [keyComment]), [
        'ssh private key',
      ]);
      const mem = scanProcessMemory(holder.pid ?? 0, [keyComment]);
      if (mem !== undefined) assert.deepEqual(mem, ['ssh private key']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('the SQLite files (with WAL), the key and audit files hold no credential', () => {
    const files = scanDir(dataDir, everything());
    assert.ok(
      files.some((f) => f.file.endsWith('bastion.db')),
      'the database was scanned',
    );
    assert.ok(
      files.some((f) => f.file.endsWith('audit.jsonl')),
      'the audit sink was scanned',
    );
    assert.deepEqual(
      files.filter((f) => f.found.length > 0),
      [],
    );
  });

  it('the logs hold no credential', () => {
    assert.match(broker.logs(), /"msg":"incoming request"/, 'debug logs were written');
    assert.deepEqual(findIn(Buffer.from(broker.logs()), everything()), []);
  });

  it('the audit export holds no credential', () => {
    const r = spawnSync(process.execPath, [MAIN, 'audit', 'export', '--data-dir', dataDir], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"type":"credential_issue"/);
    assert.deepEqual(findIn(Buffer.from(r.stdout), everything()), []);
  });

  it('no MCP transcript (stdio or Streamable HTTP) holds an AC, the agent key, a token or a grant', () => {
    const text = transcripts.map((t) => t.messages.join('\n')).join('\n');
    assert.ok(acTokens.length === 6 && acTokens.every((t) => t.length > 100));
    assert.match(text, /"name":"invoke"|"invoke"/);
    const pem = readFileSync(join(dir, 'alice.key'));
    const needles = [
      ...everything(),
      ...jwtNeedles('AC', acTokens),
      needle('agent key (PEM)', pem),
      needle('agent key (seed)', rawEd25519Seed(createPrivateKey(pem))),
    ];
    // Control: a transcript holding an AC is caught.
    assert.ok(
      findIn(Buffer.from(`${text}{"leak":"${acTokens[0] ?? ''}"}`), needles).includes('AC'),
    );
    assert.deepEqual(findIn(Buffer.from(text), needles), []);
  });

  it('no HTTP response holds a credential', () => {
    assert.ok(responses.length >= 15);
    assert.deepEqual(findIn(Buffer.from(responses.join('\n')), everything()), []);
  });

  // Before the heap snapshot: writing one reuses freed memory and would hide a leak.
  it("the broker's memory holds no private key bytes (where /proc/PID/mem is readable)", (t) => {
    const found = scanProcessMemory(child.pid ?? 0, [keyComment]);
    if (found === undefined) {
      t.skip('/proc/PID/mem is not readable here (no ptrace permission)');
      return;
    }
    assert.deepEqual(found, []);
  });

  it('a heap snapshot of the broker holds no credential', async () => {
    const snapshot = await heapSnapshot(child, snapDir);
    assert.ok(snapshot.byteLength > 1_000_000);
    // Everything but the bare marker, which the process holds in its environment.
    assert.deepEqual(findIn(snapshot, everything().slice(1)), []);
  });
});
