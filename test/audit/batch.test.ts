/** Events that happen together are appended with one commit and one sink write, in order. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog } from '../../src/audit/log.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { ManualClock } from '../../src/base/clock.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { silentLogger } from '../../src/base/logger.js';
import { SqliteStore } from '../../src/store/sqlite.js';

describe('AuditLog.appendBatch', () => {
  it('keeps one unbroken chain, in order, in the store and on the sink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-batch-'));
    const store = SqliteStore.open({ dataDir: dir });
    const keyring = await BrokerKeyring.open(dir);
    const log = await AuditLog.open({
      store,
      dataDir: dir,
      signer: () => keyring.signer,
      clock: new ManualClock(Date.now()),
      logger: silentLogger,
    });
    await log.append({ type: 'invoke_start', invocation_id: 'i1' });
    const batch = await log.appendBatch([
      { type: 'credential_discard', invocation_id: 'i1' },
      { type: 'invoke_end', invocation_id: 'i1', outcome: 'ok' },
    ]);
    assert.deepEqual(
      batch.map((e) => [e.seq, e.type]),
      [
        [2, 'credential_discard'],
        [3, 'invoke_end'],
      ],
    );
    assert.equal(batch[1]?.prev, batch[0]?.hash);
    await log.append({ type: 'deny', outcome: 'x' });
    await log.close();
    const sink = readFileSync(join(dir, 'audit', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes('"seq"') && !l.includes('checkpoint'));
    assert.deepEqual(
      sink.map((l) => (JSON.parse(l) as { seq: number }).seq),
      [1, 2, 3, 4],
    );
    const report = await verifyAudit({
      store,
      sinkFile: join(dir, 'audit', 'audit.jsonl'),
      publicKeys: keyring.allPublicKeys(),
    });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.deepEqual(report.interrupted, []);
    await store.close();
  });

  it('writes nothing of a batch the store refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-batch-'));
    const store = SqliteStore.open({ dataDir: dir });
    const keyring = await BrokerKeyring.open(dir);
    const log = await AuditLog.open({
      store,
      dataDir: dir,
      signer: () => keyring.signer,
      clock: new ManualClock(Date.now()),
      logger: silentLogger,
    });
    await assert.rejects(
      log.appendBatch([{ type: 'deny' }, { type: 'deny', detail: { password: 'x' } }]),
    );
    assert.equal(
      await store.auditHead(),
      undefined,
      'the first event was rolled back with the second',
    );
    await log.close();
    await store.close();
  });
});
