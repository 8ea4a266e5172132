/**
 * The audit trail after a crash. The log writes the sink first and the store second, so a
 * crash leaves the sink ahead of the database (entries never acknowledged, which the next
 * start puts back into the database) or a last sink line cut short (cut off at start).
 * Either way `verifyAudit` finds nothing wrong afterwards. Crashes are simulated in-process:
 * a store commit that fails after the sink write, then the log closed, which leaves the
 * files as a kill would (plus a checkpoint); test/zero-credential/crash-burst.test.ts does
 * it with `kill -9`. And one broker per trail: a second log on the same data directory is
 * refused while the first holds it, however the first ends.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLog } from '../../src/audit/log.js';
import { AUDIT_SINK_FILE } from '../../src/audit/sink.js';
import { verifyAudit } from '../../src/audit/verify.js';
import type { AuditEntry } from '../../src/base/audit-records.js';
import { ManualClock } from '../../src/base/clock.js';
import { ConfigError } from '../../src/base/errors.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { capturedLogger } from '../helpers/logs.js';
import { failedCommit } from '../helpers/failed-commit.js';
import { withMethods } from '../helpers/with-methods.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const roots: string[] = [];
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

/** `real` whose commits of audit entries fail while `failing.on` (a disk error). */
function failable(real: SqliteStore): { store: Store; failing: { on: boolean } } {
  const failing = { on: false };
  const store = withMethods<Store>(real, {
    insertAuditEntries: (entries, effects, options) =>
      failing.on
        ? failedCommit(real, options, Object.assign(new Error('disk I/O error'), { code: 'EIO' }))
        : real.insertAuditEntries(entries, effects, options),
  });
  return { store, failing };
}

async function world() {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-recover-'));
  roots.push(dir);
  const real = SqliteStore.open({ dataDir: dir });
  const keyring = await BrokerKeyring.open(dir, T0);
  const open = async (store: Store = real) => {
    const logs = capturedLogger();
    const log = await AuditLog.open({
      store,
      dataDir: dir,
      signer: () => keyring.signer,
      clock: new ManualClock(T0),
      logger: logs.logger,
    });
    return { log, logs };
  };
  const sinkFile = join(dir, AUDIT_SINK_FILE);
  const verify = () => verifyAudit({ store: real, sinkFile, publicKeys: keyring.allPublicKeys() });
  return { dir, real, open, sinkFile, verify };
}

const sinkEntries = (file: string): AuditEntry[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEntry & { checkpoint?: unknown })
    .filter((l) => l.checkpoint === undefined);

describe('the audit trail after a crash', () => {
  it('puts back into the database what the sink holds past its head, and verify passes', async () => {
    const w = await world();
    const { store, failing } = failable(w.real);
    const { log } = await w.open(store);
    await log.append({ type: 'deny', outcome: 'a' });
    failing.on = true;
    // The commit fails after the sink write; then the broker stops, as a crash between the
    // sink write and the commit leaves the files (close() adds only a checkpoint of seq 1).
    await assert.rejects(log.appendBatch([{ type: 'deny', outcome: 'b' }, { type: 'deny' }]));
    await log.close();
    assert.equal((await w.real.auditHead())?.seq, 1);
    assert.equal(sinkEntries(w.sinkFile).length, 3);

    const restarted = await w.open();
    assert.equal((await w.real.auditHead())?.seq, 3, 'put back at start');
    assert.deepEqual(await w.real.listAudit({}), sinkEntries(w.sinkFile));
    assert.match(restarted.logs.text(), /"count":2,"from_seq":2,"to_seq":3/);
    assert.equal((await restarted.log.append({ type: 'deny', outcome: 'c' })).seq, 4);
    await restarted.log.close();
    const report = await w.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    await w.real.close();
  });

  it('cuts off a last sink line a crash left unfinished, so later lines follow a whole one', async () => {
    const w = await world();
    const first = await w.open();
    await first.log.append({ type: 'deny' });
    await first.log.close();
    appendFileSync(w.sinkFile, '{"seq":2,"ha');

    const second = await w.open();
    assert.match(second.logs.text(), /a last line cut short by a crash was removed/);
    assert.ok(readFileSync(w.sinkFile, 'utf8').endsWith('\n'));
    await second.log.append({ type: 'deny' });
    await second.log.close();
    // Left in place, the fragment would now be a line in the middle: sink_mismatch.
    const report = await w.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    await w.real.close();
  });

  it('refuses to start when the sink past the database head does not continue it', async () => {
    const w = await world();
    const { store, failing } = failable(w.real);
    const { log } = await w.open(store);
    await log.append({ type: 'deny', outcome: 'a' });
    failing.on = true;
    await assert.rejects(log.append({ type: 'deny', outcome: 'b' }));
    await log.close();
    // Someone edits the line the database does not have: it no longer hashes to its hash.
    const text = readFileSync(w.sinkFile, 'utf8');
    writeFileSync(w.sinkFile, text.replace('"outcome":"b"', '"outcome":"x"'));
    await assert.rejects(
      w.open(),
      (e: unknown) => e instanceof ConfigError && /bastion audit verify/.test(e.message),
    );
    assert.equal((await w.real.auditHead())?.seq, 1, 'nothing put back');
    await w.real.close();
  });

  it('stores, with the next write, the entries of a commit that failed while it ran', async () => {
    const w = await world();
    const { store, failing } = failable(w.real);
    const { log } = await w.open(store);
    failing.on = true;
    await assert.rejects(log.append({ type: 'deny', outcome: 'a' }));
    failing.on = false;
    assert.equal((await log.append({ type: 'deny', outcome: 'b' })).seq, 2);
    assert.deepEqual(
      (await w.real.listAudit({})).map((e) => e.outcome),
      ['a', 'b'],
    );
    await log.close();
    assert.equal((await w.verify()).ok, true);
    await w.real.close();
  });
});

describe('one broker per audit trail', () => {
  it('refuses a second log on the same data directory until the first is closed', async () => {
    const w = await world();
    const first = await w.open();
    await assert.rejects(
      w.open(),
      (e: unknown) => e instanceof ConfigError && /another broker is writing/.test(e.message),
    );
    await first.log.append({ type: 'deny' });
    await first.log.close();
    const second = await w.open();
    assert.equal((await second.log.append({ type: 'deny' })).seq, 2);
    await second.log.close();
    assert.equal((await w.verify()).ok, true);
    await w.real.close();
  });

  it('is released by the kernel when the holder dies, however it dies', async () => {
    const w = await world();
    const lockModule = new URL('../../src/audit/trail-lock.js', import.meta.url).href;
    // A child takes the lock, says so, and is killed with SIGKILL: no release code runs.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { lockTrail } = await import(${JSON.stringify(lockModule)});
         lockTrail(${JSON.stringify(w.dir)}); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'locked');
    await assert.rejects(w.open(), ConfigError, 'held by the child');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const after = await w.open();
    await after.log.close();
    await w.real.close();
  });
});
