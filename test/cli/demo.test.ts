/** `bastion demo`, run as the Quick start runs it: the built CLI in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

function bastion(...args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist/cli/main.js'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bastion demo', () => {
  it('resolves an SSH certificate, shows it redacted with its fingerprint, and discards it', () => {
    const r = bastion('demo');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Resolved an ssh_cert credential from backend 'dev'/);
    assert.match(r.stdout, /fingerprint {2}SHA256:[A-Za-z0-9+/]{43} \(id \d+\)/);
    assert.match(r.stdout, /"privateKey": "\[redacted\]"/);
    assert.match(r.stdout, /"certificate": "ssh-ed25519-cert-v01@openssh.com /);
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    assert.match(r.stderr, /revoked at 'dev': true; secret bytes zero-filled: true/);
  });

  it('does the same for an OAuth token, as JSON', () => {
    const r = bastion('demo', '--type', 'oauth', '--target', 'https://api.internal.test', '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      credential: Record<string, unknown>;
      fingerprint: Record<string, unknown>;
    };
    assert.equal(out.credential['accessToken'], '[redacted]');
    assert.equal(out.credential['target'], 'https://api.internal.test');
    assert.match(String(out.fingerprint['fingerprint']), /^sha256:[A-Za-z0-9_-]{43}$/);
    assert.doesNotMatch(r.stdout, /eyJ/, 'no JWT in the output');
  });

  it('refuses bad input with a stable code and exit status 2, without echoing it', () => {
    const r = bastion('demo', '--type', 'kerberos<x>');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid_argument/);
    assert.doesNotMatch(r.stderr, /<x>/);
    const unknown = bastion('frobnicate');
    assert.equal(unknown.status, 2);
    assert.doesNotMatch(unknown.stderr, /frobnicate/);
    const help = bastion('help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: bastion/);
  });
});
