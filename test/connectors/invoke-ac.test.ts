/**
 * An invocation end to end, over real HTTP, under an AC that is not what the broker
 * signed or no longer valid, and a credential not for the target: a forged AC (an edited
 * claim, another key under the broker's kid, an unknown kid) and an expired one are
 * refused before any credential is resolved and before anything runs; a backend's
 * credential for another target is refused by the resolver, revoked and wiped, and the
 * next backend's is used. Unit tests check each rule; these check the broker applies it.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { BrokerError } from '../../src/client/client.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { type AcClaims, signAc, unsafeDecodeAc } from '../../src/governance/ac.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';

const SKEW_MS = 30_000;

describe('invocation under a forged or expired AC, or with a credential for another target', () => {
  const clock = new ManualClock(Date.now());
  let b: ConnectorBroker;
  before(async () => {
    b = await startConnectorBroker({ clock });
  });
  after(async () => {
    await b.close();
  });

  /**
   * Invokes over SSH with `token` (for AC `acId`); expects a 401 `code`, no credential
   * resolved and no invocation started beyond the `started` ones before.
   */
  async function refusedBeforeAnything(token: string, acId: string, code: string, started = 0) {
    const issued = b.spy.issued.length;
    await assert.rejects(
      b.client().invoke('ssh', token, { target: '127.0.0.1', operation: { argv: ['id'] } }),
      (e: unknown) => e instanceof BrokerError && e.status === 401 && e.code === code,
      code,
    );
    assert.equal(b.spy.issued.length, issued, 'no credential was resolved');
    const starts = await b.server.audit.list({ ac_id: acId, type: 'invoke_start' });
    assert.equal(starts.length, started, 'no invocation started');
  }

  it('refuses a forged AC: an edited claim, another key under the broker’s kid, an unknown kid', async () => {
    const ac = await b.ac('read-only', 'ssh', '127.0.0.1', ['read']);
    const claims = unsafeDecodeAc(ac.token) as AcClaims;
    // Widened to exec: the broker's signature no longer covers the claims.
    const widened = {
      ...claims,
      ctx: { ...claims.ctx, capabilities: ['read', 'exec'], capability_mask: 3 },
    };
    const [header, , signature] = ac.token.split('.');
    const edited = `${header}.${Buffer.from(JSON.stringify(widened)).toString('base64url')}.${signature}`;
    await refusedBeforeAnything(edited, ac.id, 'ac_bad_signature');

    const rogue = generateKeyPairSync('ed25519').privateKey;
    const kid = b.server.keyring.activeKid;
    await refusedBeforeAnything(
      await signAc(widened, { kid, privateKey: rogue }),
      ac.id,
      'ac_bad_signature',
    );
    await refusedBeforeAnything(
      await signAc(widened, { kid: 'rogue-kid', privateKey: rogue }),
      ac.id,
      'ac_unknown_key',
    );
    // Control: the AC as signed still works (for `read`, not for `exec`).
    await assert.rejects(
      b.client().invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv: ['id'] } }),
      (e: unknown) => e instanceof BrokerError && e.code === 'capability_missing',
    );
  });

  it('refuses an AC once it has expired (past its expiry and the skew)', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const run = () =>
      b.client().invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv: ['true'] } });
    // Control: it works while valid.
    assert.equal((await run()).result.exit_code, 0);
    const { exp } = unsafeDecodeAc(ac.token) as AcClaims;
    clock.set(exp * 1000 + SKEW_MS + 1_000);
    try {
      await refusedBeforeAnything(ac.token, ac.id, 'ac_expired', 1);
    } finally {
      clock.set(Date.now());
    }
  });

  it("refuses a backend's credential for another target, revokes and wipes it, and uses the next backend's", async () => {
    // The configured dev backend (after the spy) issues too; sshd trusts its CA as well.
    const configuredCa = readFileSync(join(b.dataDir, 'dev-ca.pub'), 'utf8').trim();
    b.sshd.setCaKeys([b.dev.caPublicKey(), configuredCa]);
    try {
      const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
      const context = {
        ac_id: ac.id,
        principal_did: b.alice.did,
        capability_mask: 2,
        capabilities: ['exec'],
        accord_template: 'ssh-ops',
        connector: 'ssh',
        // A host the same sshd answers for: only the resolver's check stands in the way.
        target: 'other.internal.test',
        expires_at: Math.floor(clock.now() / 1000) + 600,
        ssh_principals: [b.user],
      };
      const elsewhere = await b.dev.resolve('ssh_cert', 'other.internal.test', context);
      b.spy.next = () => Promise.resolve(elsewhere);
      const r = await b.client().invoke('ssh', ac.token, {
        target: '127.0.0.1',
        operation: { argv: ['echo', 'ok'] },
      });
      assert.equal(r.result.stdout, 'ok\n');
      assert.equal(r.credential.issued_by, 'dev', 'the next backend issued the credential used');
      const refused = b.spy.revoked.find((c) => c.target === 'other.internal.test');
      assert.ok(refused, 'the refused credential was revoked at the backend that issued it');
      assert.equal((refused as SshCertCredential).privateKey.disposed, true, 'and wiped');
      assert.equal((b.spy.issued.at(-1) as SshCertCredential).target, 'other.internal.test');
    } finally {
      b.sshd.setCaKeys([b.dev.caPublicKey()]);
    }
  });
});
