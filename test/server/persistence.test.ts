/**
 * What survives a restart (ACs, approvals, revocations) and what never reaches the
 * database (the AC signing key); key rotation and the JWKS.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPrivateKey } from 'node:crypto';
import { ManualClock } from '../../src/base/clock.js';
import type { AuthorizeResult } from '../../src/governance/authorize.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { rawEd25519Seed } from '../../src/ssh/ed25519.js';
import { startTestBroker } from '../helpers/broker.js';
import { encodings, findIn, needle, type Needle } from '../helpers/scan.js';

const body = {
  accord: 'ops-exec',
  connector: 'ssh',
  target: 'db1.internal.test',
  capabilities: ['exec'],
  duration_seconds: 600,
};

/** The AC token of an active result; fails the test otherwise. */
function activeToken(r: AuthorizeResult): string {
  assert.equal(r.status, 'active');
  if (r.status !== 'active') throw new Error('unreachable');
  return r.ac;
}

/** The AC signing key as a leak would show it: its PEM, its PKCS#8 DER and its seed. */
function keyNeedles(pem: Buffer): Needle[] {
  const key = createPrivateKey(pem);
  return [
    needle('signing key PEM', pem),
    needle('signing key DER', key.export({ format: 'der', type: 'pkcs8' })),
    needle('signing key seed', rawEd25519Seed(key)),
  ];
}

describe('persistence', () => {
  it('keeps ACs, approvals and revocations across a restart; the database holds no signing key and is 0600', async () => {
    const broker = await startTestBroker();
    try {
      const alice = broker.client(broker.keys.alice);
      const active = await alice.authorize(body);
      const activeAc = activeToken(active);
      const revoked = await alice.authorize(body);
      await alice.revoke(revoked.ac_id);
      const pending = await alice.authorize({
        ...body,
        accord: 'prod-write',
        target: 'x.prod.test',
        capabilities: ['read'],
      });
      await broker.client(broker.keys.bob).approve(pending.ac_id);

      await broker.restart();
      const again = broker.client(broker.keys.alice);
      const shown = await again.show(active.ac_id);
      assert.equal(shown.status, 'active');
      assert.equal(typeof shown.ac, 'string');
      await broker.server.service.verify(shown.ac);
      await broker.server.service.verify(activeAc);
      assert.equal((await again.show(revoked.ac_id)).status, 'revoked');
      const p = await again.show(pending.ac_id);
      assert.equal(p.status, 'pending_approval');
      assert.deepEqual(
        p.approvals.map((a) => a.approver_did),
        [broker.keys.bob.did],
      );
      // The second approver after the restart completes it.
      assert.equal(
        (await broker.client(broker.keys.carol).approve(pending.ac_id)).status,
        'active',
      );

      const keyDir = join(broker.dataDir, 'keys');
      const pems = readdirSync(keyDir).filter((f) => f.endsWith('.pem'));
      assert.equal(pems.length, 1);
      const pem = readFileSync(join(keyDir, pems[0] ?? ''));
      assert.equal(statSync(join(keyDir, pems[0] ?? '')).mode & 0o777, 0o600);
      const needles = keyNeedles(pem);
      const dbFiles = readdirSync(broker.dataDir).filter((f) => f.startsWith('bastion.db'));
      assert.ok(dbFiles.length >= 1);
      // Control: the scan finds each form of the key (in every encoding it searches).
      const planted = Buffer.concat(needles.map((n, i) => encodings(n.bytes)[i] ?? n.bytes));
      assert.deepEqual(findIn(planted, needles).sort(), needles.map((n) => n.label).sort());
      for (const file of dbFiles) {
        const st = statSync(join(broker.dataDir, file));
        assert.equal(st.mode & 0o777, 0o600, `${file} mode`);
        assert.deepEqual(findIn(readFileSync(join(broker.dataDir, file)), needles), [], file);
      }
    } finally {
      await broker.close();
    }
  });
});

describe('key rotation', () => {
  it('an AC signed before rotation still verifies; the old key leaves the JWKS once it has expired', async () => {
    // On a whole second, so that exp * 1000 is exactly the issue time + duration.
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
    const broker = await startTestBroker({ clock });
    try {
      const issued = activeToken(await broker.client(broker.keys.alice).authorize(body));
      const before = broker.server.keyring.activeKid;

      const rotated = await BrokerKeyring.rotate(broker.dataDir, clock.now());
      assert.equal(rotated.retired, before);
      broker.server.keyring.reload();
      assert.notEqual(broker.server.keyring.activeKid, before);
      assert.deepEqual(
        readdirSync(join(broker.dataDir, 'keys')).filter((f) => f.endsWith('.pem')),
        [`${rotated.active}.pem`],
        'the old private key is gone',
      );

      const jwks = async () =>
        (
          (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as {
            keys: { kid: string }[];
          }
        ).keys
          .map((k) => k.kid)
          .sort();
      assert.deepEqual(await jwks(), [before, rotated.active].sort());
      await broker.server.service.verify(issued);

      // New ACs are signed with the new key.
      const next = activeToken(await broker.client(broker.keys.alice).authorize(body));
      assert.equal(
        JSON.parse(Buffer.from(next.split('.')[0] ?? '', 'base64url').toString()).kid,
        rotated.active,
      );

      // Past the old AC's expiry plus skew, the retired key leaves the JWKS.
      clock.advance(600_000 + 30_000 - 1);
      assert.deepEqual(await jwks(), [before, rotated.active].sort());
      clock.advance(1);
      assert.deepEqual(await jwks(), [rotated.active]);
      await assert.rejects(broker.server.service.verify(issued));
    } finally {
      await broker.close();
    }
  });

  it('survives a restart after rotation', async () => {
    const broker = await startTestBroker();
    try {
      const issued = activeToken(await broker.client(broker.keys.alice).authorize(body));
      await BrokerKeyring.rotate(broker.dataDir);
      await broker.restart();
      await broker.server.service.verify(issued);
    } finally {
      await broker.close();
    }
  });
});
