/**
 * The CLI end to end against a `bastion serve` child process: keygen, authorize, approve,
 * acs show, revoke, keys rotate + SIGHUP, graceful shutdown, and clear failures.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { bastion } from '../helpers/cli.js';

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('serve did not start')), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /bastion listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${String(code)}`)));
  });
}

describe('bastion CLI against bastion serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-cli-'));
  const keyFile = (name: string): string => join(dir, `${name}.key`);
  const dids: Record<string, string> = {};
  let child: ChildProcess;
  let url = '';
  const json = (args: string[]): Record<string, any> => {
    const r = bastion([...args, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, any>;
  };

  /** `bastion authorize` arguments for connector ssh; with --url unless told otherwise. */
  const authorizeArgs = (
    who: string,
    accord: string,
    target: string,
    caps: string[],
    duration: string,
    withUrl = true,
  ): string[] => [
    'authorize',
    ...(withUrl ? ['--url', url] : []),
    ...['--key', keyFile(who), '--accord', accord, '--connector', 'ssh', '--target', target],
    ...caps.flatMap((cap) => ['--cap', cap]),
    ...['--duration', duration],
  ];

  before(async () => {
    for (const name of ['alice', 'bob', 'carol']) {
      const out = json(['keygen', '--out', keyFile(name)]);
      dids[name] = out['did'] as string;
      assert.equal(statSync(keyFile(name)).mode & 0o777, 0o600);
    }
    writeFileSync(
      join(dir, 'bastion.yaml'),
      `listen: 127.0.0.1:8443
data_dir: ./data
admins: []
accords:
  - id: ops-exec
    principals: [${dids['alice']}]
    connectors: [ssh, bascule]
    ssh_login: deploy
    targets: ["*.internal.test", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["uptime", "systemctl status *"], deny: ["*rm *"] }
    max_duration: 15m
    approvals: { required: 0 }
  - id: prod
    principals: [${dids['alice']}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*.prod.test"]
    capabilities: [write]
    max_duration: 1h
    approvals: { required: 2, approvers: [${dids['bob']}, ${dids['carol']}] }
`,
    );
    child = spawn(
      process.execPath,
      [
        join(repoRoot, 'dist/cli/main.js'),
        'serve',
        '--config',
        join(dir, 'bastion.yaml'),
        '--listen',
        '127.0.0.1:0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    url = await waitForListening(child);
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('authorize → acs show → revoke', () => {
    const issued = json(
      authorizeArgs('alice', 'ops-exec', 'DB1.Internal.Test.', ['exec', 'read'], '10m'),
    );
    assert.equal(issued['status'], 'active');
    assert.equal(issued['capability_mask'], 3);
    const shown = json(['acs', 'show', issued['ac_id'], '--url', url, '--key', keyFile('alice')]);
    assert.equal(shown['status'], 'active');
    assert.equal(shown['target'], 'db1.internal.test', 'stored canonically');
    assert.equal(typeof shown['ac'], 'string');
    const revoked = json(
      ['revoke', issued['ac_id'], '--key', keyFile('alice')].concat(['--url', url]),
    );
    assert.equal(revoked['status'], 'revoked');
  });

  it('takes the broker URL from BASTION_URL and prints human-readable lines by default', () => {
    const r = bastion(authorizeArgs('alice', 'ops-exec', '127.0.0.1', ['read'], '1m', false), {
      BASTION_URL: url,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ac_id {6}[0-9a-f-]{36}\nstatus {5}active\n/);
  });

  it('approve twice by distinct approvers activates a pending AC', () => {
    const pending = json(authorizeArgs('alice', 'prod', 'db.prod.test', ['write'], '30m'));
    assert.equal(pending['status'], 'pending_approval');
    assert.equal(
      json(['approve', pending['ac_id'], '--url', url, '--key', keyFile('bob')])['status'],
      'pending_approval',
    );
    assert.equal(
      json(['approve', pending['ac_id'], '--url', url, '--key', keyFile('carol')])['status'],
      'active',
    );
  });

  it('deny with a comment ends a pending AC for good; approve carries a comment too', () => {
    const pending = json(authorizeArgs('alice', 'prod', 'db.prod.test', ['write'], '30m'));
    const approved = json([
      'approve',
      pending['ac_id'],
      ...['--comment', 'change ticket seen', '--url', url, '--key', keyFile('bob')],
    ]);
    assert.deepEqual(
      (approved['approvals'] as { comment?: string }[]).map((a) => a.comment),
      ['change ticket seen'],
    );
    const denied = bastion([
      'deny',
      pending['ac_id'],
      ...['--comment', 'not during the freeze', '--url', url, '--key', keyFile('carol')],
    ]);
    assert.equal(denied.status, 0, denied.stderr);
    assert.match(denied.stdout, /^status {7}denied$/m);
    assert.match(denied.stdout, new RegExp(`^denied_at {4}\\S+ by ${dids['carol']}$`, 'm'));
    // The requester sees why; nobody can approve it any more.
    const view = json(['acs', 'show', pending['ac_id'], '--url', url, '--key', keyFile('alice')]);
    assert.equal(view['status'], 'denied');
    assert.equal(view['denial_comment'], 'not during the freeze');
    const late = bastion(['approve', pending['ac_id'], '--url', url, '--key', keyFile('carol')]);
    assert.equal(late.status, 1);
    assert.match(late.stderr, /ac_not_pending/);
    // Only an approver of the accord may deny.
    const other = json(authorizeArgs('alice', 'prod', 'db.prod.test', ['write'], '30m'));
    const refused = bastion(['deny', other['ac_id'], '--url', url, '--key', keyFile('alice')]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /not_allowed_to_deny/);
  });

  it('reports a refusal with the broker code and exit status 1', () => {
    const r = bastion(authorizeArgs('bob', 'ops-exec', 'a.internal.test', ['exec'], '1m'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\(403\) principal_not_allowed/);
  });

  it('keys rotate + SIGHUP: both keys in the JWKS', async () => {
    const rotated = json(['keys', 'rotate', '--config', join(dir, 'bastion.yaml')]);
    child.kill('SIGHUP');
    let kids: string[] = [];
    for (let i = 0; i < 50 && kids.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const issued = json(authorizeArgs('alice', 'ops-exec', 'a.internal.test', ['exec'], '1m'));
      const kid = JSON.parse(
        Buffer.from(String(issued['ac']).split('.')[0] ?? '', 'base64url').toString(),
      ).kid as string;
      if (kid !== rotated['active']) continue;
      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
        keys: { kid: string }[];
      };
      kids = jwks.keys.map((k) => k.kid);
    }
    assert.deepEqual(kids.sort(), [rotated['active'], rotated['retired']].sort());
  });

  it('refuses a bad configuration with the file, the path and the reason, exit 2', () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      'listen: 127.0.0.1:8443\ndata_dir: ./d\naccords:\n  - id: x\n    max_duration: forever\n',
    );
    const r = bastion(['serve', '--config', join(dir, 'bad.yaml')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid_config: Invalid configuration at .*bad\.yaml: accords\[0\]/);
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
