/**
 * Governed invocation end to end, over real HTTP, against a real sshd and a real Bascule
 * runtime: what runs, what is refused (and before any credential exists), and that every
 * credential is revoked and zeroized whatever happens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { BrokerError } from '../../src/client/client.js';
import { createDpopProof } from '../../src/governance/dpop.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';

async function refused(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

describe('governed invocation', () => {
  let b: ConnectorBroker;
  before(async () => {
    b = await startConnectorBroker({ outputBytes: 4096, execTimeout: '1s' });
  });
  after(async () => {
    await b.close();
  });

  const allDiscarded = (): void => {
    assert.equal(b.spy.revoked.length, b.spy.issued.length, 'every issued credential was revoked');
    for (const c of b.spy.issued)
      assert.equal((c as SshCertCredential).privateKey.disposed, true, 'and zeroized');
  };

  it('runs a command over SSH and returns stdout, stderr and the exit code', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const r = await b.client().invoke('ssh', ac.token, {
      target: '127.0.0.1',
      operation: { argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] },
    });
    assert.equal(r.result.stdout, 'out\n');
    assert.equal(r.result.stderr, 'err\n');
    assert.equal(r.result.exit_code, 3);
    assert.equal(r.credential.type, 'ssh_cert');
    assert.equal(r.credential.issued_by, 'spy');
    assert.match(r.credential.fingerprint, /^SHA256:/);
    assert.match(
      b.sshd.log(),
      new RegExp(`serial ${r.credential.id ?? 'none'}`),
      'sshd saw the certificate',
    );
    allDiscarded();
  });

  it('passes stdin, and runs a command line when no shell syntax is in it', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const r = await b.client().invoke('ssh', ac.token, {
      target: '127.0.0.1',
      operation: { command: 'cat', stdin: 'hello' },
    });
    assert.equal(r.result.stdout, 'hello');
    await refused(
      b
        .client()
        .invoke('ssh', ac.token, { target: '127.0.0.1', operation: { command: 'echo hi; id' } }),
      403,
      'shell_syntax_not_allowed',
    );
  });

  it('takes the largest stdin the operation schema allows under the default body limit', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    // 64 KiB of text with quotes and newlines, which JSON escapes (the body grows past it).
    const stdin = 'line "qq"\n'.repeat(65_536 / 10) + 'x'.repeat(65_536 % 10);
    assert.equal(Buffer.byteLength(stdin), 65_536);
    const r = await b.client().invoke('ssh', ac.token, {
      target: '127.0.0.1',
      operation: { argv: ['wc', '-c'], stdin },
    });
    assert.equal(r.result.stdout.trim(), '65536');
  });

  it('runs an argv through Bascule without a shell', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    const r = await b.client().invoke('bascule', ac.token, {
      target: 'db1.internal.test',
      operation: { argv: ['echo', '$(id)', ';', 'x'] },
    });
    assert.equal(r.result.stdout, '$(id) ; x\n');
    assert.equal(r.result.exit_code, 0);
    assert.equal(r.credential.type, 'bascule_ac');
    assert.equal(r.credential.issued_by, 'bascule');
  });

  it('refuses a command outside the allow-list or matching the deny-list, before any credential', async () => {
    const issuedBefore = b.spy.issued.length;
    const ssh = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    await refused(
      b.client().invoke('ssh', ssh.token, {
        target: '127.0.0.1',
        operation: { argv: ['sudo', 'rm', '-rf', '/tmp/x'] },
      }),
      403,
      'command_not_allowed',
    );
    const bas = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    await refused(
      b.client().invoke('bascule', bas.token, {
        target: 'db1.internal.test',
        operation: { argv: ['uname', '-a'] },
      }),
      403,
      'command_not_allowed',
    );
    assert.equal(b.spy.issued.length, issuedBefore, 'no credential was resolved');
    const denies = await b.server.audit.list({ type: 'deny', ac_id: ssh.id });
    assert.equal(denies.length, 1);
    assert.equal(denies[0]?.outcome, 'command_not_allowed');
    const starts = await b.server.audit.list({ type: 'invoke_start', ac_id: ssh.id });
    assert.equal(starts.length, 0);
  });

  it('refuses an AC used with another connector, another target, or without the capability', async () => {
    const bas = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    await refused(
      b
        .client()
        .invoke('ssh', bas.token, { target: 'db1.internal.test', operation: { argv: ['id'] } }),
      403,
      'connector_mismatch',
    );
    const ssh = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    for (const other of ['localhost', 'other.internal.test', '127.0.0.2']) {
      await refused(
        b.client().invoke('ssh', ssh.token, { target: other, operation: { argv: ['id'] } }),
        403,
        'target_mismatch',
      );
    }
    await refused(
      b
        .client()
        .invoke('ssh', ssh.token, { target: '127.000.000.001', operation: { argv: ['id'] } }),
      400,
      'invalid_argument',
    );
    const named = await b.ac('bascule-ops', 'bascule', 'DB1.Internal.Test.');
    const ok = await b.client().invoke('bascule', named.token, {
      target: 'db1.INTERNAL.test.',
      operation: { argv: ['true'] },
    });
    assert.equal(ok.result.exit_code, 0, 'case and a trailing dot name the same host');
    const bas2 = await b.ac('bascule-ops', 'bascule', 'db2.internal.test');
    await refused(
      b.client().invoke('bascule', bas2.token, {
        target: 'db1.internal.test',
        operation: { argv: ['id'] },
      }),
      403,
      'target_mismatch',
    );
    const ro = await b.ac('read-only', 'ssh', '127.0.0.1', ['read']);
    await refused(
      b.client().invoke('ssh', ro.token, { target: '127.0.0.1', operation: { argv: ['id'] } }),
      403,
      'capability_missing',
    );
  });

  it('refuses an AC revoked since the last call', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    await b
      .client()
      .invoke('bascule', ac.token, { target: 'db1.internal.test', operation: { argv: ['true'] } });
    await b.client().revoke(ac.id);
    await refused(
      b.client().invoke('bascule', ac.token, {
        target: 'db1.internal.test',
        operation: { argv: ['true'] },
      }),
      401,
      'ac_revoked',
    );
  });

  it('refuses a replayed proof and a proof without ath', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    const url = `${b.server.url}/connectors/bascule/invoke`;
    const body = JSON.stringify({ target: 'db1.internal.test', operation: { argv: ['true'] } });
    const send = (proof: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          authorization: `DPoP ${ac.token}`,
          dpop: proof,
          'content-type': 'application/json',
        },
        body,
      }).then(async (r) => ({
        status: r.status,
        code: ((await r.json()) as { error?: { code: string } }).error?.code,
      }));
    const proof = await createDpopProof({
      privateKey: b.alice.privateKey,
      publicJwk: b.alice.publicJwk,
      method: 'POST',
      url,
      accessToken: ac.token,
    });
    assert.equal((await send(proof)).status, 200);
    assert.deepEqual(await send(proof), { status: 401, code: 'dpop_replayed' });
    const noAth = await createDpopProof({
      privateKey: b.alice.privateKey,
      publicJwk: b.alice.publicJwk,
      method: 'POST',
      url,
    });
    assert.deepEqual(await send(noAth), { status: 401, code: 'dpop_ath_missing' });
    const stranger = await createDpopProof({
      privateKey: b.alice.privateKey,
      publicJwk: b.alice.publicJwk,
      method: 'POST',
      url,
      accessToken: 'x.y.z',
    });
    assert.deepEqual(await send(stranger), { status: 401, code: 'dpop_ath_mismatch' });
    const r = await fetch(url, {
      method: 'POST',
      headers: { dpop: proof, 'content-type': 'application/json' },
      body,
    });
    assert.equal(r.status, 401);
  });

  it('cuts a flood at the output limit and kills a hang at the timeout; the credential is discarded in both', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const flood = await b.client().invoke('ssh', ac.token, {
      target: '127.0.0.1',
      operation: { argv: ['sh', '-c', 'yes | head -c 2000000'] },
    });
    assert.equal(flood.result.stdout_truncated, true);
    assert.ok(Buffer.byteLength(flood.result.stdout) <= 4096);
    const hang = await b
      .client()
      .invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv: ['sleep', '5'] } });
    assert.equal(hang.result.timed_out, true);
    assert.equal(hang.result.exit_code, null);
    allDiscarded();
    const ends = await b.server.audit.list({ type: 'invoke_end', ac_id: ac.id });
    assert.deepEqual(
      ends.map((e) => e.outcome),
      ['ok', 'timed_out'],
    );

    const bas = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    const bflood = await b.client().invoke('bascule', bas.token, {
      target: 'db1.internal.test',
      operation: { argv: ['head', '-c', '2000000', '/dev/zero'] },
    });
    assert.equal(bflood.result.stdout_truncated, true);
  });

  it('an SSH certificate with a past window is refused by sshd: a clear code, and still discarded', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    // A backend that claims a future expiry for a certificate whose own window has passed.
    const { DevBackend } = await import('../../src/backends/dev/dev-backend.js');
    const { ManualClock } = await import('../../src/base/clock.js');
    const past = await DevBackend.create({ clock: new ManualClock(Date.now() - 3_600_000) });
    // Bound as the broker asks (ssh-binding.test.ts), so that only its window is wrong.
    const stale = await past.resolve('ssh_cert', '127.0.0.1', acContextFor(b, ac.id), undefined, {
      sshCommand: 'id',
    });
    b.sshd.setCaKeys([b.dev.caPublicKey(), past.caPublicKey()]);
    b.spy.next = () => Promise.resolve({ ...stale, expiresAt: new Date(Date.now() + 60_000) });
    await refused(
      b.client().invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv: ['id'] } }),
      502,
      'ssh_auth_failed',
    );
    assert.equal(stale.privateKey.disposed, true);
    allDiscarded();
    b.sshd.setCaKeys([b.dev.caPublicKey()]);
  });

  it('shows each invocation in the audit: start, credential issued and discarded, end', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    const r = await b.client().invoke('bascule', ac.token, {
      target: 'db1.internal.test',
      operation: { argv: ['echo', 'x'] },
    });
    const entries = (await b.server.audit.list({ ac_id: ac.id })).filter(
      (e) => e.invocation_id === r.invocation_id,
    );
    assert.deepEqual(
      entries.map((e) => e.type),
      ['invoke_start', 'credential_issue', 'credential_discard', 'invoke_end'],
    );
    assert.equal(entries[1]?.detail?.['fingerprint'], r.credential.fingerprint);
    assert.equal(entries[3]?.detail?.['backend'], 'bascule');
    const mine = await b.client().audit({ ac_id: ac.id });
    assert.ok(mine.entries.length >= 5, 'authorize + the invocation, over GET /audit');
  });

  it('does not run the operation when the database cannot be written (locked)', async () => {
    const ac = await b.ac('bascule-ops', 'bascule', 'db1.internal.test');
    const issued = b.spy.issued.length;
    const flag = join(b.dataDir, 'ran');
    const locker = new Database(join(b.dataDir, 'bastion.db'));
    locker.exec('BEGIN EXCLUSIVE');
    try {
      // The proof's jti is the first write of the request, so the store refuses first.
      await refused(
        b.client().invoke('bascule', ac.token, {
          target: 'db1.internal.test',
          operation: { argv: ['sh', '-c', `echo > ${flag}`] },
        }),
        503,
        'store_unavailable',
      );
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    assert.equal(existsSync(flag), false, 'the command did not run');
    assert.equal(b.spy.issued.length, issued, 'no credential was resolved');
  });
});

function acContextFor(b: ConnectorBroker, acId: string) {
  return {
    ac_id: acId,
    principal_did: b.alice.did,
    capability_mask: 3,
    capabilities: ['read', 'exec'],
    accord_template: 'ssh-ops',
    connector: 'ssh',
    target: '127.0.0.1',
    expires_at: Math.floor(Date.now() / 1000) + 600,
    ssh_principals: [b.user],
  };
}
