/**
 * The MCP bridge end to end: an MCP SDK client talks to `bastion mcp` (a child process, over
 * stdio and over Streamable HTTP) which talks to a real broker over HTTP, in front of a real
 * sshd and a real Bascule runtime. Every JSON-RPC message the agent's side sees is recorded
 * and must hold no AC, no private key and no credential.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { BastionClient } from '../../src/client/client.js';
import { sshString } from '../../src/ssh/wire.js';
import { Secret } from '../../src/credentials/secret.js';
import { createBridgeServer } from '../../src/mcp/bridge.js';
import { startMcpHttp } from '../../src/mcp/http.js';
import { type McpBroker, RecordingTransport, startMcpBroker } from '../helpers/mcp.js';
import { repoRoot } from '../helpers/paths.js';
import { findIn, type Needle, needle } from '../helpers/scan.js';

// Run from sources (tsx) or from build/ (tsc): start the entry that sits beside this file.
const here = fileURLToPath(import.meta.url);
const entryArgs = here.endsWith('.ts')
  ? ['--import', 'tsx', join(dirname(here), 'stdio-entry.ts')]
  : [join(dirname(here), 'stdio-entry.js')];

type Body = Record<string, any>;

function textOf(r: unknown): string {
  const content = (r as CallToolResult).content;
  assert.equal(content.length, 1);
  const first = content[0];
  assert.ok(first?.type === 'text');
  return first.text;
}

/** A successful result: the SDK client has checked its structured content against the tool's outputSchema. */
function ok(r: unknown): Body {
  const text = textOf(r);
  assert.notEqual((r as CallToolResult).isError, true, text);
  const body = JSON.parse(text) as Body;
  assert.deepEqual((r as CallToolResult).structuredContent, body, 'the same JSON, twice');
  return body;
}

function failed(r: unknown, code: string): Body {
  const text = textOf(r);
  assert.equal((r as CallToolResult).isError, true, text);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error), ['code', 'message']);
  assert.equal(body.error.code, code, text);
  assert.doesNotMatch(body.error.message, /\n\s+at /, 'no stack');
  return body.error;
}

function waitForStderr(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} in: ${seen}`)), 30_000);
    child.stderr?.on('data', (c: Buffer) => {
      seen += c.toString();
      const m = pattern.exec(seen);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', () => reject(new Error(`child exited: ${seen}`)));
  });
}

describe('bastion mcp', () => {
  let b: McpBroker;
  let agent: BastionClient;
  let stdio: StdioClientTransport;
  let rec: RecordingTransport;
  let mcp: Client;
  let stdioLog = '';
  /** Every AC the agent held, as the broker gives it to the agent's key. */
  const acTokens: string[] = [];
  /** Every JSON-RPC transcript, to scan at the end. */
  const transcripts: RecordingTransport[] = [];
  let httpToken = '';
  let httpStderr = '';

  const call = (name: string, args: Record<string, unknown> = {}) =>
    mcp.callTool({ name, arguments: args });

  /** Fetches the AC token with the agent key, as only the test may: for the leak scan. */
  async function remember(acId: string): Promise<void> {
    const view = await agent.show(acId);
    assert.equal(typeof view.ac, 'string');
    acTokens.push(view.ac ?? '');
  }

  async function requestAccess(args: Record<string, unknown>): Promise<string> {
    const r = ok(await call('request_access', { duration_seconds: 600, ...args }));
    assert.equal(r['status'], 'active');
    await remember(r['ac_id'] as string);
    return r['ac_id'] as string;
  }

  before(async () => {
    b = await startMcpBroker();
    agent = b.client(b.keys.agent);
    stdio = new StdioClientTransport({
      command: process.execPath,
      args: [...entryArgs, '--key', b.agentKeyFile, '--url', b.url],
      cwd: repoRoot,
      stderr: 'pipe',
    });
    stdio.stderr?.on('data', (c: Buffer) => (stdioLog += c.toString()));
    rec = new RecordingTransport(stdio);
    transcripts.push(rec);
    mcp = new Client({ name: 'bridge-test', version: '0' });
    await mcp.connect(rec);
  });

  after(async () => {
    await mcp?.close();
    await b?.close();
  });

  it('lists the six tools, each with a strict input schema and a description', async () => {
    const { tools } = await mcp.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()].sort(), [
      'audit_tail',
      'invoke',
      'list_accords',
      'request_access',
      'request_status',
      'revoke',
    ]);
    // The list never changes while the bridge runs: no list-change notifications offered.
    assert.notEqual(mcp.getServerCapabilities()?.tools?.listChanged, true);
    for (const t of tools) {
      assert.equal(t.outputSchema?.type, 'object', `${t.name} describes its result`);
      assert.ok(Object.keys(t.outputSchema?.properties ?? {}).length > 0, t.name);
      assert.ok((t.description ?? '').length > 80, `${t.name} is described for a model`);
      assert.equal(t.inputSchema.type, 'object');
      assert.equal(
        (t.inputSchema as Body)['additionalProperties'],
        false,
        `${t.name} refuses unknown fields`,
      );
    }
    const ra = byName.get('request_access')?.inputSchema as Body;
    assert.deepEqual([...(ra['required'] as string[])].sort(), [
      'accord',
      'capabilities',
      'connector',
      'duration_seconds',
      'target',
    ]);
    assert.deepEqual(ra['properties'].capabilities.items.enum, ['read', 'exec', 'write', 'admin']);
    assert.equal(ra['properties'].duration_seconds.type, 'integer');
    const inv = byName.get('invoke')?.inputSchema as Body;
    assert.deepEqual([...(inv['required'] as string[])].sort(), ['ac_id', 'operation']);
    // ssh/bascule argv and command (with stdin), http, winrm argv, command (with timeout), powershell.
    assert.equal(inv['properties'].operation.anyOf.length, 6, 'each connector kind’s shapes');
    assert.match(inv['properties'].ac_id.pattern, /0-9a-f/);
    const tail = byName.get('audit_tail')?.inputSchema as Body;
    assert.equal(tail['properties'].limit.maximum, 200);
    assert.equal(tail['properties'].limit.minimum, 1);
    assert.deepEqual(byName.get('revoke')?.inputSchema.required, ['ac_id']);
    assert.match(byName.get('list_accords')?.description ?? '', /principal.*delegate/s);
  });

  it('list_accords: the accords the agent may use, as principal or delegate, and its DID', async () => {
    const r = ok(await call('list_accords'));
    assert.equal(r['agent_did'], b.keys.agent.did);
    const as = Object.fromEntries(
      (r['accords'] as { id: string; as: string }[]).map((a) => [a.id, a.as]),
    );
    assert.deepEqual(as, {
      'agent-ssh': 'principal',
      'agent-bascule': 'principal',
      'agent-gated': 'principal',
      'human-delegates': 'delegate',
    });
  });

  it('request_access returns an ac_id and status, never the AC; invoke runs on Bascule', async () => {
    const res = await call('request_access', {
      accord: 'agent-bascule',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 300,
      justification: 'check the host',
    });
    const r = ok(res);
    assert.deepEqual(Object.keys(r).sort(), ['ac_id', 'expires_at', 'status']);
    assert.equal(r['status'], 'active');
    assert.doesNotMatch(textOf(res), /eyJ/, 'no JWT at all');
    await remember(r['ac_id'] as string);

    const out = ok(
      await call('invoke', { ac_id: r['ac_id'], operation: { argv: ['echo', 'from', 'agent'] } }),
    );
    assert.equal(out['connector'], 'bascule');
    assert.equal(out['target'], 'db1.internal.test');
    assert.equal(out['result'].stdout, 'from agent\n');
    assert.equal(out['result'].exit_code, 0);
    assert.equal(out['credential'].type, 'bascule_ac');
    assert.deepEqual(Object.keys(out['credential']).sort(), [
      'expires_at',
      'fingerprint',
      'issued_by',
      'type',
    ]);
  });

  it('invoke runs over SSH, with an argv or a command line and stdin', async () => {
    const acId = await requestAccess({
      accord: 'agent-ssh',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['exec'],
    });
    const issued = b.spy.issued.length;
    const who = ok(await call('invoke', { ac_id: acId, operation: { argv: ['id', '-un'] } }));
    assert.equal((who['result'] as { stdout: string }).stdout.trim(), b.sshd.user);
    assert.equal(who['credential'].type, 'ssh_cert');
    assert.match(who['credential'].fingerprint, /^SHA256:/);
    const cat = ok(
      await call('invoke', { ac_id: acId, operation: { command: 'cat', stdin: 'piped in' } }),
    );
    assert.equal(cat['result'].stdout, 'piped in');
    assert.equal(b.spy.issued.length, issued + 2, 'one short-lived credential per call');
    assert.equal(b.spy.revoked.length, b.spy.issued.length, 'each revoked after use');
  });

  it('refuses another target or connector than the AC names (override_refused)', async () => {
    const sshAc = await requestAccess({
      accord: 'agent-ssh',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['exec'],
    });
    const basculeAc = await requestAccess({
      accord: 'agent-bascule',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
    });
    const issued = b.spy.issued.length;
    const before = (await agent.audit({ ac_id: sshAc })).entries.length;
    const op = { argv: ['true'] };
    // other.internal.test is allowed by the accord and reaches the same sshd: still refused.
    failed(
      await call('invoke', { ac_id: sshAc, target: 'other.internal.test', operation: op }),
      'override_refused',
    );
    failed(
      await call('invoke', { ac_id: sshAc, connector: 'bascule', operation: op }),
      'override_refused',
    );
    failed(
      await call('invoke', { ac_id: sshAc, target: 'not a target', operation: op }),
      'override_refused',
    );
    assert.equal(b.spy.issued.length, issued, 'no credential was issued');
    assert.equal(
      (await agent.audit({ ac_id: sshAc })).entries.length,
      before,
      'nothing reached it',
    );
    // The AC's own target and connector, in any spelling, are fine.
    ok(
      await call('invoke', { ac_id: sshAc, target: '127.0.0.1', connector: 'ssh', operation: op }),
    );
    ok(
      await call('invoke', {
        ac_id: basculeAc,
        target: 'DB1.Internal.Test.',
        operation: { argv: ['true'] },
      }),
    );
  });

  it("surfaces the broker's refusal code as a tool error, and nothing runs", async () => {
    const sshAc = await requestAccess({
      accord: 'agent-ssh',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['exec'],
    });
    const basculeAc = await requestAccess({
      accord: 'agent-bascule',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
    });
    failed(
      await call('invoke', { ac_id: sshAc, operation: { argv: ['rm', '-rf', '/tmp/x'] } }),
      'command_not_allowed',
    );
    failed(
      await call('invoke', { ac_id: sshAc, operation: { command: 'true; rm -rf /tmp/x' } }),
      'shell_syntax_not_allowed',
    );
    failed(
      await call('invoke', { ac_id: basculeAc, operation: { argv: ['cat', '/etc/passwd'] } }),
      'command_not_allowed',
    );
    failed(
      await call('request_access', {
        accord: 'agent-bascule',
        connector: 'bascule',
        target: 'db1.internal.test',
        capabilities: ['write'],
        duration_seconds: 60,
      }),
      'capability_not_granted',
    );
    failed(
      await call('request_access', {
        accord: 'human-only',
        connector: 'bascule',
        target: 'db1.internal.test',
        capabilities: ['exec'],
        duration_seconds: 60,
      }),
      'principal_not_allowed',
    );
  });

  it('refuses malformed arguments as invalid_argument, without quoting them', async () => {
    const acId = await requestAccess({
      accord: 'agent-ssh',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['exec'],
    });
    const cases: Record<string, unknown>[] = [
      { ac_id: acId, operation: { argv: ['id'], command: 'id' } },
      { ac_id: acId, operation: { method: 'GET', path: '/' } },
      { ac_id: acId, operation: { argv: [] } },
      { ac_id: 'SECRETISH-not-an-id', operation: { argv: ['id'] } },
      { ac_id: acId, operation: { argv: ['id'] }, SECRETISH_field: 1 },
      { operation: { argv: ['id'] } },
    ];
    for (const args of cases) {
      const e = failed(await call('invoke', args), 'invalid_argument');
      assert.doesNotMatch(e['message'] as string, /SECRETISH/, 'input is not quoted');
    }
    failed(
      await call('request_access', {
        accord: 'agent-ssh',
        connector: 'ssh',
        target: '127.0.0.1',
        capabilities: ['root'],
        duration_seconds: 60,
      }),
      'invalid_argument',
    );
    failed(await call('audit_tail', { limit: 201 }), 'invalid_argument');
    // The host's mistake, not the model's: a JSON-RPC error, not a tool result.
    await assert.rejects(call('no_such_tool'), (err: unknown) => {
      assert.ok(err instanceof McpError, String(err));
      assert.equal(err.code, ErrorCode.InvalidParams);
      assert.doesNotMatch(err.message, /no_such_tool/);
      return true;
    });
  });

  it('revoke, then invoke is refused with ac_revoked', async () => {
    const acId = await requestAccess({
      accord: 'agent-bascule',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
    });
    ok(await call('invoke', { ac_id: acId, operation: { argv: ['true'] } }));
    const r = ok(await call('revoke', { ac_id: acId }));
    assert.equal(r['status'], 'revoked');
    assert.equal(typeof r['revoked_at'], 'string');
    failed(await call('invoke', { ac_id: acId, operation: { argv: ['true'] } }), 'ac_revoked');
    failed(await call('revoke', { ac_id: acId }), 'ac_already_revoked');
  });

  it('an AC awaiting approval is ac_pending_approval until a human approves it', async () => {
    const r = ok(
      await call('request_access', {
        accord: 'agent-gated',
        connector: 'bascule',
        target: 'db1.internal.test',
        capabilities: ['exec'],
        duration_seconds: 300,
      }),
    );
    assert.deepEqual(r, { ac_id: r['ac_id'], status: 'pending_approval', approvals_required: 1 });
    const op = { ac_id: r['ac_id'], operation: { argv: ['echo', 'approved'] } };
    failed(await call('invoke', op), 'ac_pending_approval');
    // The agent polls its request: pending, then active once approved, never the token.
    const polled = ok(await call('request_status', { ac_id: r['ac_id'] }));
    assert.equal(polled['status'], 'pending_approval');
    assert.equal(polled['approvals'], 0);
    assert.equal(polled['approvals_required'], 1);
    const mine = ok(await call('request_status', {}))['acs'] as Body[];
    assert.ok(mine.some((v) => v['ac_id'] === r['ac_id']));
    await b.client(b.keys.human).approve(r['ac_id'] as string);
    // The token joins the leak scan of every transcript: request_status must not show it.
    await remember(r['ac_id'] as string);
    const active = ok(await call('request_status', { ac_id: r['ac_id'] }));
    assert.equal(active['status'], 'active');
    assert.equal(typeof active['expires_at'], 'string');
    assert.equal(active['ac'], undefined);
    assert.equal(ok(await call('invoke', op))['result'].stdout, 'approved\n');
  });

  it('uses an AC a human delegated to the agent, which the agent names by ac_id', async () => {
    const issued = await b.client(b.keys.human).authorize({
      accord: 'human-delegates',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 300,
      delegate_to: b.keys.agent.did,
    });
    assert.equal(issued.status, 'active');
    await remember(issued.ac_id);
    const out = ok(
      await call('invoke', { ac_id: issued.ac_id, operation: { argv: ['echo', 'delegated'] } }),
    );
    assert.equal(out['result'].stdout, 'delegated\n');
    const entries = (await agent.audit({ ac_id: issued.ac_id })).entries;
    const end = entries.find((e) => e.type === 'invoke_end');
    assert.equal(end?.actor, b.keys.agent.did);
    assert.equal(end?.principal, b.keys.human.did);
  });

  it('refuses an AC the agent may see but does not hold (ac_unknown_to_bridge), or an unknown one', async () => {
    // The agent administers human-only: it may see (and revoke) the AC, never use it.
    const issued = await b.client(b.keys.human).authorize({
      accord: 'human-only',
      connector: 'bascule',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 300,
    });
    failed(
      await call('invoke', { ac_id: issued.ac_id, operation: { argv: ['id'] } }),
      'ac_unknown_to_bridge',
    );
    failed(
      await call('invoke', { ac_id: randomUUID(), operation: { argv: ['id'] } }),
      'ac_not_found',
    );
  });

  it("audit_tail returns the agent's own entries, newest last", async () => {
    // Someone else's activity must not show.
    const other = await b.client(b.keys.other).authorize({
      accord: 'agent-ssh',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['read'],
      duration_seconds: 60,
    });
    const all = ok(await call('audit_tail', { limit: 200 }));
    const entries = all['entries'] as Body[];
    assert.equal(all['complete'], true);
    assert.ok(entries.length > 20);
    for (const e of entries) {
      assert.ok(
        e['actor'] === b.keys.agent.did || e['principal'] === b.keys.agent.did,
        `entry ${String(e['seq'])} is the agent's`,
      );
      assert.notEqual(e['ac_id'], other.ac_id);
    }
    const types = new Set(entries.map((e) => e['type'] as string));
    for (const t of ['authorize', 'deny', 'invoke_start', 'invoke_end', 'revoke'])
      assert.ok(types.has(t), `has ${t}`);
    const seqs = entries.map((e) => e['seq'] as number);
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
      'oldest first',
    );

    const last3 = ok(await call('audit_tail', { limit: 3 }))['entries'] as Body[];
    assert.deepEqual(
      last3.map((e) => e['seq'] as number),
      seqs.slice(-3),
      'the newest three',
    );
    // One AC's entries.
    const acId = (entries.find((e) => e['type'] === 'invoke_end') as Body)['ac_id'] as string;
    const one = ok(await call('audit_tail', { ac_id: acId }))['entries'] as Body[];
    assert.ok(one.length > 0);
    for (const e of one) assert.equal(e['ac_id'], acId);
  });

  it('cuts a large result to maxResultChars, keeping valid JSON, and says so', async () => {
    const bridge = createBridgeServer({ client: agent, limits: { maxResultChars: 2048 } });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const local = new RecordingTransport(clientSide);
    transcripts.push(local);
    await bridge.connect(serverSide);
    const c = new Client({ name: 'bridge-test', version: '0' });
    await c.connect(local);
    try {
      const r = ok(
        await c.callTool({
          name: 'request_access',
          arguments: {
            accord: 'agent-bascule',
            connector: 'bascule',
            target: 'db1.internal.test',
            capabilities: ['exec'],
            duration_seconds: 120,
          },
        }),
      );
      await remember(r['ac_id'] as string);
      const res = await c.callTool({
        name: 'invoke',
        arguments: {
          ac_id: r['ac_id'],
          operation: { argv: ['echo', 'x'.repeat(4000), 'x'.repeat(4000)] },
        },
      });
      const text = textOf(res);
      assert.ok(text.length <= 2048, `${text.length} characters`);
      const out = JSON.parse(text) as Body;
      assert.equal(out['truncated_by_bridge'], true);
      assert.equal(out['max_result_chars'], 2048);
      assert.match(out['result'].stdout, /^x{1000,}$/, 'cut, not dropped');
      assert.equal(out['result'].exit_code, 0);
    } finally {
      await c.close();
    }
  });

  describe('over Streamable HTTP', () => {
    let child: ChildProcess;
    let url = '';
    const tokenFile = (): string => join(b.dataDir, 'mcp-http.token');

    before(async () => {
      child = spawn(
        process.execPath,
        [
          ...entryArgs,
          '--key',
          b.agentKeyFile,
          '--url',
          b.url,
          '--http',
          '127.0.0.1:0',
          '--http-token-file',
          tokenFile(),
        ],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stderr?.on('data', (c: Buffer) => (httpStderr += c.toString()));
      url = await waitForStderr(child, /bastion mcp listening on (http:\/\/\S+)/);
      httpToken = readFileSync(tokenFile(), 'utf8').trim();
    });

    after(async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    });

    const connect = async (headers: Record<string, string>) => {
      const transport = new RecordingTransport(
        new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }),
      );
      transcripts.push(transport);
      const c = new Client({ name: 'bridge-test-http', version: '0' });
      await c.connect(transport);
      return c;
    };

    it('writes a generated bearer token 0600, on loopback, and never prints it', () => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      assert.match(httpToken, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(statSync(tokenFile()).mode & 0o777, 0o600);
      assert.ok(!httpStderr.includes(httpToken));
      assert.equal(child.stdout?.read(), null, 'nothing on stdout');
    });

    it('serves the tools with the bearer token, a new server per request', async () => {
      const c = await connect({ authorization: `Bearer ${httpToken}` });
      try {
        assert.equal((await c.listTools()).tools.length, 6);
        const r = ok(
          await c.callTool({
            name: 'request_access',
            arguments: {
              accord: 'agent-ssh',
              connector: 'ssh',
              target: '127.0.0.1',
              capabilities: ['exec'],
              duration_seconds: 120,
            },
          }),
        );
        await remember(r['ac_id'] as string);
        const out = ok(
          await c.callTool({
            name: 'invoke',
            arguments: { ac_id: r['ac_id'], operation: { argv: ['echo', 'over', 'http'] } },
          }),
        );
        assert.equal(out['result'].stdout, 'over http\n');
        assert.equal(
          ok(await c.callTool({ name: 'revoke', arguments: { ac_id: r['ac_id'] } }))['status'],
          'revoked',
        );
      } finally {
        await c.close();
      }
    });

    it('answers 401 without the bearer token or with a wrong one', async () => {
      for (const headers of [
        {},
        { authorization: `Bearer ${httpToken.slice(0, -1)}x` },
        { authorization: `Bearer ${httpToken}x` },
        { authorization: `Basic ${httpToken}` },
      ]) {
        await assert.rejects(connect(headers), (e: unknown) => {
          assert.ok(e instanceof StreamableHTTPError, String(e));
          assert.equal(e.code, 401);
          return true;
        });
      }
      const raw = await fetch(url, { method: 'POST', body: '{}' });
      assert.equal(raw.status, 401);
      assert.match(raw.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(((await raw.json()) as Body)['error'].code, 'mcp_unauthorized');
    });

    it('serves POST /mcp only, and bounds the body', async () => {
      const auth = { authorization: `Bearer ${httpToken}` };
      const get = await fetch(url, { headers: auth });
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      const elsewhere = await fetch(new URL('/other', url), { method: 'POST', headers: auth });
      assert.equal(elsewhere.status, 404);
      const big = await fetch(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
      });
      assert.equal(big.status, 413);
      const bad = await fetch(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{not json',
      });
      assert.equal(bad.status, 400);
    });

    it('stops on SIGTERM', async () => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    });
  });

  it('startMcpHttp refuses everyone once its token is disposed', async () => {
    const token = Secret.fromString('t'.repeat(40));
    const running = await startMcpHttp({
      bridge: () => createBridgeServer({ client: agent }),
      host: '127.0.0.1',
      port: 0,
      token,
    });
    try {
      const post = () =>
        fetch(running.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${'t'.repeat(40)}`,
            'content-type': 'application/json',
          },
          body: '{not json',
        });
      assert.equal((await post()).status, 400, 'authenticated');
      token.dispose();
      assert.equal((await post()).status, 401);
    } finally {
      await running.close();
    }
  });

  it('no transcript holds an AC, the agent key, a credential or the bearer token', () => {
    assert.ok(acTokens.length >= 8, `${acTokens.length} ACs held`);
    const pkcs8 = b.keys.agent.privateKey.export({ format: 'der', type: 'pkcs8' });
    const seed = Buffer.from(
      b.keys.agent.privateKey.export({ format: 'jwk' }).d ?? '',
      'base64url',
    );
    const pem = b.keys.agent.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const needles: Needle[] = [
      ...acTokens.flatMap((t, i) => [
        needle(`AC ${i}`, t),
        needle(`AC ${i} payload`, t.split('.')[1] ?? t),
        needle(`AC ${i} signature`, t.split('.')[2] ?? t),
      ]),
      needle('agent private key (PKCS#8)', pkcs8),
      needle('agent private key (seed)', seed),
      needle('agent private key (PEM body)', pem.split('\n').slice(1, -2).join('')),
      needle('credential marker', b.marker),
      needle('ssh credential private key', sshString(`bastion-ephemeral ${b.marker}`)),
      needle('bearer token', httpToken),
    ];
    assert.ok(httpToken.length > 0 && b.spy.issued.some((c) => c.type === 'ssh_cert'));

    const everything = transcripts.map((t) => t.transcript()).join('\n');
    const logs = stdioLog + httpStderr;
    // The scan must be able to see what it looks for: plant one of each first.
    const planted = `${everything}\n{"text":"${acTokens[0] ?? ''}"}\n${pkcs8.toString('base64')}`;
    const control = findIn(Buffer.from(planted), needles);
    for (const label of ['AC 0', 'AC 0 payload', 'AC 0 signature', 'agent private key (PKCS#8)'])
      assert.ok(control.includes(label), `the scan finds a planted ${label}`);

    assert.ok(everything.includes('"invoke"') && everything.length > 10_000, 'transcript recorded');
    assert.doesNotMatch(rec.transcript(), /transport error/, 'stdout held JSON-RPC only');
    assert.deepEqual(findIn(Buffer.from(everything), needles), [], 'in the JSON-RPC transcripts');
    assert.deepEqual(findIn(Buffer.from(logs), needles), [], "in the bridge's stderr");
    assert.doesNotMatch(everything, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no JWT at all');
  });
});
