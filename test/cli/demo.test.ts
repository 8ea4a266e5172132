/** `bastion demo`, run as the Quick start runs it: the built CLI in a child process. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bastion } from '../helpers/cli.js';

describe('bastion demo', () => {
  it('starts a broker, issues an AC, resolves and discards a credential, revokes the AC', () => {
    const r = bastion(['demo']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Broker listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(
      r.stdout,
      /POST \/governance\/authorize\/ with a DPoP proof → 201, AC [0-9a-f-]{36}/,
    );
    assert.match(r.stdout, /"accord_template": "ops-exec"/);
    assert.match(r.stdout, /fingerprint SHA256:[A-Za-z0-9+/]{43} \(serial \d+\)/);
    assert.match(r.stdout, /"privateKey": "\[redacted\]"/);
    assert.match(r.stdout, /revoked at 'dev': true, bytes zero-filled: true/);
    assert.match(r.stdout, /AC status 'revoked'; verifying it now fails/);
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    const dir = /data in (\S+)\)/.exec(r.stdout)?.[1] ?? '';
    assert.ok(dir.length > 0 && !existsSync(dir), 'the temporary data directory is removed');
  });

  it('reports the same as JSON', () => {
    const r = bastion(['demo', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(out['credential']['privateKey'], '[redacted]');
    assert.deepEqual(out['discarded'], { revoked_at_backend: true, zero_filled: true });
    assert.equal(out['ac_status_after_revoke'], 'revoked');
    assert.equal(out['ac_refused_after_revoke'], true);
    assert.equal(out['ac_claims']['sub'], out['principal']);
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
