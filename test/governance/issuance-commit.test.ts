/**
 * Issuance is one commit: `authorize` stores the AC row, its audit entry and its signing
 * key's latest expiry in one store transaction (group-committed with other writes), after
 * the audit line is on the sink and before any token is signed. Checked against a real
 * AuditLog over a file store whose writes are recorded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLog } from '../../src/audit/log.js';
import { ManualClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import type { Accord } from '../../src/governance/accords.js';
import { generatePrincipalKey, thumbprint } from '../../src/governance/did-key.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { Policy } from '../../src/governance/policy.js';
import { GovernanceService } from '../../src/governance/service.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store, StoreEffect } from '../../src/store/store.js';
import { withMethods } from '../helpers/with-methods.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const alice = generatePrincipalKey();
const accord: Accord = {
  id: 'ops',
  principals: [alice.did],
  connectors: ['ssh'],
  targets: ['db1.internal.test'],
  capabilities: ['exec'],
  max_duration_seconds: 900,
  approvals: { required: 0, approvers: [] },
  admins: [],
};
const roots: string[] = [];
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

/** The store's write calls, by method, with the effects of each insertAuditEntries. */
function recorded(real: SqliteStore): { store: Store; writes: string[]; effects: StoreEffect[][] } {
  const writes: string[] = [];
  const effects: StoreEffect[][] = [];
  const store = withMethods<Store>(real, {
    insertAc: (record) => (writes.push('insertAc'), real.insertAc(record)),
    noteKeyUse: (kid, exp) => (writes.push('noteKeyUse'), real.noteKeyUse(kid, exp)),
    activateAc: (...args) => (writes.push('activateAc'), real.activateAc(...args)),
    insertAuditEntries: (entries, list = [], options) => {
      writes.push('insertAuditEntries');
      effects.push([...list]);
      return real.insertAuditEntries(entries, list, options);
    },
  });
  return { store, writes, effects };
}

describe('issuance in one commit', () => {
  it('stores the AC, its audit entry and its key use together, then signs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-issue-'));
    roots.push(dir);
    const real = SqliteStore.open({ dataDir: dir });
    const { store, writes, effects } = recorded(real);
    const clock = new ManualClock(T0);
    const keyring = await BrokerKeyring.open(dir, T0);
    const audit = await AuditLog.open({
      store,
      dataDir: dir,
      signer: () => keyring.signer,
      clock,
      logger: silentLogger,
    });
    const service = new GovernanceService({
      store,
      keyring,
      clock,
      logger: silentLogger,
      audit,
      settings: {
        issuer: 'urn:bastion:broker',
        audience: 'urn:bastion:connectors',
        skewMs: 30_000,
        policy: new Policy(new Map([[accord.id, accord]]), []),
        approvalTtlMs: 60_000,
      },
    });
    const caller = {
      did: alice.did,
      jkt: await thumbprint(alice.publicJwk),
      jwk: alice.publicJwk,
      jti: 'p1',
    };
    const result = await service.authorize(caller, {
      accord: 'ops',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 300,
    });
    assert.equal(result.status, 'active');
    assert.deepEqual(writes, ['insertAuditEntries'], 'one write: no separate AC or key commit');
    const [only] = effects;
    assert.deepEqual(
      only?.map((e) => e.kind),
      ['insert_ac', 'note_key_use'],
    );
    const stored = await real.getAc(result.ac_id);
    assert.equal(stored?.state, 'active');
    const exp = (stored?.claims as { exp: number }).exp;
    assert.equal(await real.keyLastExpiry(keyring.signer.kid), exp);
    const [entry] = await real.listAudit({ type: 'authorize' });
    assert.equal(entry?.ac_id, result.ac_id);
    // And the token it returned verifies against what was stored.
    const verified = await service.verify(result.ac);
    assert.equal(verified.claims.jti, result.ac_id);
    await audit.close();
    await real.close();
  });
});
