/** `bastion demo`, run as the Quick start runs it: the built CLI in a child process. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bastion } from '../helpers/cli.js';

describe('bastion demo', () => {
  it('issues an AC, runs a command through Bascule and over SSH, refuses one, revokes, verifies the audit', () => {
    const r = bastion(['demo']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /A broker on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /POST \/governance\/authorize\/ \(DPoP\) → 201: AC [0-9a-f-]{36}/);
    assert.match(r.stdout, /→ exit 0:\n {5}hello from Bascule\n/);
    assert.match(r.stdout, /\["rm", "-rf", "\/"\] → 403 command_not_allowed/);
    assert.match(
      r.stdout,
      /Over SSH with a 5-minute certificate .*\n {5}uid=/,
      'sshd is installed where the tests run',
    );
    assert.match(r.stdout, /the next invocation is refused: ac_revoked/);
    assert.match(r.stdout, /credential_discard/);
    assert.match(r.stdout, /bastion audit verify: ok — \d+ entries/);
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    const dir = /SQLite in (\S+)\/data\)/.exec(r.stdout)?.[1] ?? '';
    assert.ok(dir.length > 0 && !existsSync(dir), 'the temporary directory is removed');
  });

  it('reports the same as JSON, and runs without SSH when asked', () => {
    const r = bastion(['demo', '--json', '--no-ssh']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(out['bascule']['result']['stdout'], 'hello from Bascule\n');
    assert.equal(out['denied'], '403 command_not_allowed');
    assert.equal(out['after_revoke'], 'ac_revoked');
    assert.equal(out['audit']['ok'], true);
    assert.equal(out['ssh'], undefined);
  });

  it('refuses bad input with a stable code and exit status 2, without echoing it', () => {
    const r = bastion(['demo', '--type<x>']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid_argument/);
    assert.doesNotMatch(r.stderr, /<x>/);
    const unknown = bastion(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.doesNotMatch(unknown.stderr, /frobnicate/);
    const help = bastion(['help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: bastion/);
  });
});
