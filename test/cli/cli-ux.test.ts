/**
 * The CLI as an operator meets it, against a `bastion serve --json` child: start lines as
 * JSON (serve, bascule, mcp), invoke on a revoked AC, delegation from the command line,
 * keygen over an existing file, and a reader that closes the pipe early.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BastionClient } from '../../src/client/client.js';
import { readPrincipalKey } from '../../src/governance/did-key.js';
import { bastion, bastionAsync } from '../helpers/cli.js';
import { MAIN } from '../helpers/child-broker.js';

/** Starts `bastion ARGS`; resolves with the first line of `stream` naming where it listens. */
function startJson(
  args: string[],
  stream: 'stdout' | 'stderr',
): Promise<{ child: ChildProcess; line: Record<string, unknown>; lines: string[] }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child[stream]?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n').filter((l) => l.startsWith('{'));
      const found = lines.find((l) => l.includes('"listening"'));
      if (found !== undefined) resolve({ child, line: JSON.parse(found), lines });
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${String(code)}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  child.kill('SIGTERM');
  return exited;
}

describe('bastion CLI: json start lines, refusals, delegation, pipes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-cli-ux-'));
  const keyFile = (name: string): string => join(dir, `${name}.key`);
  const dids: Record<string, string> = {};
  let serve: ChildProcess;
  let url = '';

  before(async () => {
    for (const name of ['alice', 'agent']) {
      const r = bastion(['keygen', '--out', keyFile(name), '--json']);
      assert.equal(r.status, 0, r.stderr);
      dids[name] = (JSON.parse(r.stdout) as { did: string }).did;
    }
    writeFileSync(
      join(dir, 'bastion.yaml'),
      `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: warn
limits: { rate_per_minute: 10000 }
accords:
  - id: ops
    principals: [${dids['alice']}]
    delegates: [${dids['agent']}]
    connectors: [bascule]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
  - id: gated
    principals: [${dids['alice']}]
    connectors: [bascule]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    approvals: { required: 1, approvers: [${dids['agent']}] }
`,
    );
    const started = await startJson(
      ['serve', '--config', join(dir, 'bastion.yaml'), '--listen', '127.0.0.1:0', '--json'],
      'stdout',
    );
    serve = started.child;
    assert.equal(started.line['service'], 'bastion');
    url = String(started.line['listening']);
  });

  after(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
  });

  const authorize = (extra: string[] = []): Record<string, unknown> => {
    const r = bastion([
      ...['authorize', '--url', url, '--key', keyFile('alice'), '--accord', 'ops'],
      ...['--connector', 'bascule', '--target', '127.0.0.1', '--cap', 'exec', '--duration', '5m'],
      ...[...extra, '--json'],
    ]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('serve --json prints its start line as JSON', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('bascule --json and mcp --json print their start lines as JSON', async () => {
    const bascule = await startJson(
      [
        ...['bascule', '--name', '127.0.0.1', '--jwks', `${url}/.well-known/jwks.json`],
        ...['--listen', '127.0.0.1:0', '--audit', join(dir, 'bascule.jsonl'), '--json'],
      ],
      'stdout',
    );
    assert.equal(bascule.line['service'], 'bascule');
    assert.match(String(bascule.line['listening']), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await stop(bascule.child), 0);

    const mcp = await startJson(
      ['mcp', '--key', keyFile('agent'), '--url', url, '--http', '127.0.0.1:0', '--json'],
      'stderr',
    );
    assert.equal(mcp.line['service'], 'bastion mcp');
    // Every line the bridge wrote before it is JSON too.
    for (const line of mcp.lines) assert.doesNotThrow(() => JSON.parse(line));
    assert.ok(mcp.lines.length >= 2, 'its other lines are JSON objects');
    assert.equal(await stop(mcp.child), 0);
  });

  it("invoke on a revoked AC prints the broker's code and exits 1", () => {
    const issued = authorize();
    const id = String(issued['ac_id']);
    assert.equal(bastion(['revoke', id, '--url', url, '--key', keyFile('alice')]).status, 0);
    const r = bastion(['invoke', id, '--url', url, '--key', keyFile('alice'), '--', 'uptime']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\(401\) ac_revoked: /);
  });

  it('authorize --delegate-to issues the AC for the agent, which alone gets it', async () => {
    const issued = authorize(['--delegate-to', dids['agent'] ?? '']);
    assert.equal(issued['status'], 'active');
    const id = String(issued['ac_id']);
    const agent = new BastionClient({ url, key: readPrincipalKey(keyFile('agent')) });
    assert.equal(typeof (await agent.show(id)).ac, 'string', 'the token is the agent’s');
    const human = bastion(['acs', 'show', id, '--url', url, '--key', keyFile('alice'), '--json']);
    assert.equal(human.status, 0, human.stderr);
    assert.equal((JSON.parse(human.stdout) as { ac?: string }).ac, undefined);
    // A DID that is no delegate of the accord is the broker's refusal, not the CLI's.
    const r = bastion([
      ...['authorize', '--url', url, '--key', keyFile('alice'), '--accord', 'ops'],
      ...['--connector', 'bascule', '--target', '127.0.0.1', '--cap', 'exec'],
      ...['--duration', '5m', '--delegate-to', dids['alice'] ?? ''],
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /delegation_not_allowed/);
  });

  it('acs list shows your ACs; approvals list what awaits your approval', () => {
    const pending = authorize(['--accord', 'gated']);
    assert.equal(pending['status'], 'pending_approval');
    const id = String(pending['ac_id']);
    const mine = bastion(['acs', 'list', '--url', url, '--key', keyFile('alice')]);
    assert.equal(mine.status, 0, mine.stderr);
    assert.match(
      mine.stdout,
      new RegExp(`^${id}  pending_approval +gated  bascule  127\\.0\\.0\\.1`, 'm'),
    );
    const awaiting = (who: string): string[] => {
      const r = bastion(['approvals', 'list', '--url', url, '--key', keyFile(who), '--json']);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { acs: { ac_id: string }[] }).acs.map((v) => v.ac_id);
    };
    assert.deepEqual(awaiting('agent'), [id]);
    assert.deepEqual(awaiting('alice'), [], 'the requester has nothing to approve');
    assert.equal(bastion(['approve', id, '--url', url, '--key', keyFile('agent')]).status, 0);
    assert.deepEqual(awaiting('agent'), []);
    const bad = bastion(['acs', 'list', '--url', url, '--key', keyFile('alice'), '--limit', '0']);
    assert.equal(bad.status, 2);
  });

  it('keygen refuses an existing file and says --force replaces it', () => {
    const before = readFileSync(keyFile('agent'));
    const r = bastion(['keygen', '--out', keyFile('agent')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /already exists there \(--force replaces it\)/);
    assert.deepEqual(readFileSync(keyFile('agent')), before, 'the key is untouched');
    const file = join(dir, 'loose.key');
    writeFileSync(file, 'old', { mode: 0o644 });
    const forced = bastion(['keygen', '--out', file, '--force', '--json']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'a replaced key is private too');
    assert.equal(readPrincipalKey(file).did, (JSON.parse(forced.stdout) as { did: string }).did);
  });

  it('audit export into a reader that stops early exits 0, quietly', async () => {
    // More than a pipe's buffer of entries, so the export is still writing when it closes.
    const alice = new BastionClient({ url, key: readPrincipalKey(keyFile('alice')) });
    for (let i = 0; i < 200; i++) {
      await alice.authorize({
        accord: 'ops',
        connector: 'bascule',
        target: '127.0.0.1',
        capabilities: ['exec'],
        duration_seconds: 60,
      });
    }
    const child = spawn(process.execPath, [
      MAIN,
      'audit',
      'export',
      '--data-dir',
      join(dir, 'data'),
    ]);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((done) => child.once('close', done));
    assert.equal(stderr, '');
    assert.equal(code, 0);
    // The whole export, read to the end, is one JSON object per line.
    const all = await bastionAsync(['audit', 'export', '--data-dir', join(dir, 'data'), '--json']);
    assert.equal(all.status, 0);
    assert.ok(all.stdout.trim().split('\n').length > 200);
  });

  it('shuts down on SIGTERM', async () => {
    assert.equal(await stop(serve), 0);
  });
});
