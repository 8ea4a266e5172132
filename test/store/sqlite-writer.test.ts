/**
 * The file store's writer thread: writes wait for the database without stalling the event
 * loop, concurrent writes share one commit yet fail alone, their errors keep their class
 * and code across the thread, a dead writer fails every write closed while reads go on,
 * and an idle store never keeps a process alive (nor lets it exit mid-write). Ordering is
 * forced by holding SQLite's write lock from a second connection, never by timing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { walkChain } from '../../src/audit/chain-walk.js';
import { collectProblems } from '../../src/audit/report.js';
import type { AuditEntry, AuditEvent } from '../../src/base/audit-records.js';
import { GENESIS } from '../../src/base/audit-chain.js';
import { InvalidArgumentError } from '../../src/base/errors.js';
import {
  AcConflictError,
  StoreClosedError,
  StoreUnavailableError,
  StoreWriterFailedError,
} from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { holdWriteLock } from '../helpers/sqlite-lock.js';
import type { AcRecord } from '../../src/store/store.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const TS = new Date(T0).toISOString();
// Long enough that a held lock never times a queued write out while a test runs.
const PATIENT = { busyTimeoutMs: 30_000 };

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-writer-'));
  roots.push(dir);
  return dir;
}

let seq = 0;
function ac(overrides: Partial<AcRecord> = {}): AcRecord {
  seq += 1;
  return {
    ac_id: `ac-w${seq}`,
    principal_did: 'did:key:z6MkPrincipal',
    cnf_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    accord: 'ops-ssh',
    connector: 'ssh',
    target: 'db1.internal.test',
    capabilities: ['read'],
    capability_mask: 1,
    duration_seconds: 300,
    approvals_required: 1,
    requested_at: T0,
    state: 'pending_approval',
    ...overrides,
  };
}

/** What a rejection is: class, code, status and message. */
async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { code?: unknown; status?: unknown };
    return { class: e.constructor.name, code: e.code, status: e.status, message: e.message };
  }
  assert.fail('expected a rejection');
}

async function assertIntactChain(store: SqliteStore): Promise<AuditEntry[]> {
  const { problems, problem } = collectProblems();
  await walkChain(store.iterateAudit(), new Map(), undefined, problem);
  assert.deepEqual(problems, []);
  const entries: AuditEntry[] = [];
  for await (const entry of store.iterateAudit()) entries.push(entry);
  return entries;
}

describe('SqliteStore writer thread', () => {
  it('keeps the event loop running while a write waits for the database', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, ...PATIENT });
    const other = ac();
    await store.insertAc(other);
    const lock = holdWriteLock(dir);
    const waiting = ac();
    let inserted = false;
    let insert: Promise<void>;
    try {
      insert = store.insertAc(waiting).then(() => {
        inserted = true;
      });
      // Inline, insertAc would block right here until the lock's busy timeout.
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal((await store.getAc(other.ac_id))?.ac_id, other.ac_id);
      assert.equal(await store.getAc(waiting.ac_id), undefined);
      assert.equal(inserted, false);
    } finally {
      lock.release();
    }
    await insert;
    assert.equal((await store.getAc(waiting.ac_id))?.ac_id, waiting.ac_id);
    await store.close();
  });

  it('commits concurrent writes together, in call order, answering each', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, ...PATIENT });
    await store.appendAudit({ type: 'authorize', outcome: 'first' }, TS);
    const before = store.writeStats();
    const lock = holdWriteLock(dir);
    const calls = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0
        ? store.appendAudit({ type: 'deny', outcome: `o${i}` }, TS)
        : store.rememberProof('jkt', `jti-${i % 3}`, T0 + 60_000),
    );
    lock.release();
    const results = await Promise.all(calls);
    const stats = store.writeStats();
    assert.equal(stats.requests - before.requests, 50);
    // The lock held the first transaction, so the others queued behind it: at most two.
    assert.ok(stats.transactions - before.transactions <= 2, JSON.stringify(stats));
    // A jti seen once is a replay from then on, within one transaction too.
    const proofs = results.filter((r) => typeof r === 'boolean');
    assert.deepEqual(proofs.slice(0, 4), [true, true, true, false]);
    assert.equal(proofs.filter(Boolean).length, 3);
    const entries = await assertIntactChain(store);
    assert.deepEqual(
      entries.map((e) => e.outcome),
      ['first', ...Array.from({ length: 25 }, (_, i) => `o${i * 2}`)],
    );
    assert.deepEqual(
      results.filter((r) => typeof r === 'object').map((e) => e.seq),
      Array.from({ length: 25 }, (_, i) => i + 2),
    );
    await store.close();
  });

  it('fails only the request that throws; the rest of its transaction commits', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, ...PATIENT });
    const existing = ac();
    await store.insertAc(existing);
    const before = store.writeStats();
    const [a, b] = [ac(), ac()];
    const secret: AuditEvent = { type: 'invoke_end', detail: { password: 'hunter2hunter2' } };
    const lock = holdWriteLock(dir);
    const calls = [
      store.rememberProof('jkt', 'blocker', T0 + 60_000),
      store.appendAudit({ type: 'authorize', outcome: 'a' }, TS),
      store.insertAc(a),
      store.insertAc(ac({ ac_id: existing.ac_id, target: 'other.test' })),
      store.appendAudit(secret, TS),
      store.insertAc(b),
      store.appendAudit({ type: 'authorize', outcome: 'b' }, TS),
    ];
    lock.release();
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled'],
    );
    const stats = store.writeStats();
    // Two transactions at most for seven requests: each failure shared one with others.
    assert.ok(stats.transactions - before.transactions <= 2, JSON.stringify(stats));
    assert.equal(stats.requests - before.requests, 7);
    assert.ok((settled[3] as PromiseRejectedResult).reason instanceof AcConflictError);
    assert.ok((settled[4] as PromiseRejectedResult).reason instanceof InvalidArgumentError);
    assert.equal((await store.getAc(existing.ac_id))?.target, existing.target);
    assert.equal((await store.getAc(a.ac_id))?.ac_id, a.ac_id);
    assert.equal((await store.getAc(b.ac_id))?.ac_id, b.ac_id);
    const entries = await assertIntactChain(store);
    assert.deepEqual(
      entries.map((e) => e.outcome),
      ['a', 'b'],
    );
    await store.close();
  });

  it('raises the same error class, code and message as the inline store', async () => {
    const file = SqliteStore.open({ dataDir: tempDir() });
    const memory = SqliteStore.memory();
    const existing = ac();
    const cases: [string, (s: SqliteStore) => Promise<unknown>][] = [
      ['duplicate ac_id', (s) => s.insertAc(existing)],
      [
        'secret-shaped audit detail',
        (s) => s.appendAudit({ type: 'deny', detail: { api_key: 'x' } }, TS),
      ],
      ['bad argument', (s) => s.noteKeyUse('kid', -1)],
      ['bad AC record', (s) => s.insertAc(ac({ state: 'bogus' as AcRecord['state'] }))],
      [
        'checkpoint of no entry',
        (s) => s.insertCheckpoint({ seq: 9, hash: GENESIS, ts: TS, jws: 'x' }),
      ],
      ['empty ac_id', (s) => s.revokeAc('', 'did:key:x', T0, 1)],
    ];
    for (const store of [file, memory]) await store.insertAc(existing);
    for (const [name, call] of cases) {
      const inline = await failure(call(memory));
      assert.notEqual(inline['code'], 'internal_error', name);
      assert.deepEqual(await failure(call(file)), inline, name);
    }
    // What cannot cross to the thread is a bad argument too (inline, it fails later on).
    const uncloneable = await failure(
      file.appendAudit({ type: 'deny', detail: { f: () => 1 } }, TS),
    );
    assert.equal(uncloneable['class'], InvalidArgumentError.name);
    await Promise.all([file.close(), memory.close()]);
    const closed = await failure(file.insertAc(ac()));
    assert.deepEqual(closed, await failure(memory.insertAc(ac())));
    assert.equal(closed['class'], StoreClosedError.name);
  });

  it('fails a whole transaction that cannot begin as unavailable', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, busyTimeoutMs: 0 });
    const lock = holdWriteLock(dir);
    try {
      const results = await Promise.allSettled([
        store.appendAudit({ type: 'deny' }, TS),
        store.noteKeyUse('kid', 1),
      ]);
      for (const r of results) {
        assert.ok(r.status === 'rejected' && r.reason instanceof StoreUnavailableError);
      }
    } finally {
      lock.release();
    }
    await store.noteKeyUse('kid', 2);
    assert.equal(await store.keyLastExpiry('kid'), 2);
    await store.close();
  });

  it('fails pending and later writes closed when the writer dies; reads go on', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, ...PATIENT });
    const kept = ac();
    await store.insertAc(kept);
    const lock = holdWriteLock(dir);
    const pending = failure(store.insertAc(ac()));
    const killed = store.testOnlyTerminateWriter();
    lock.release();
    await killed;
    const expected = {
      class: StoreWriterFailedError.name,
      code: 'store_writer_failed',
      status: 503,
      message: new StoreWriterFailedError().message,
    };
    assert.deepEqual(await pending, expected);
    assert.deepEqual(await failure(store.appendAudit({ type: 'deny' }, TS)), expected);
    assert.deepEqual(await failure(store.rememberProof('k', 'j', T0)), expected);
    assert.equal((await store.getAc(kept.ac_id))?.ac_id, kept.ac_id);
    assert.equal(await store.isRevoked(kept.ac_id), false);
    await store.close();
    assert.ok((await failure(store.getAc(kept.ac_id)))['class'] === StoreClosedError.name);
  });

  it('lets queued writes finish on close, then refuses', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.appendAudit({ type: 'deny', outcome: `c${i}` }, TS),
    );
    await store.close();
    assert.equal((await Promise.all(writes)).length, 20);
    const reopened = SqliteStore.open({ dataDir: dir });
    assert.equal((await assertIntactChain(reopened)).length, 20);
    await reopened.close();
  });

  it('counts every inline write as its own transaction', async () => {
    const store = SqliteStore.memory();
    await store.rememberProof('k', 'j1', T0);
    await store.rememberProof('k', 'j2', T0);
    assert.deepEqual(store.writeStats(), { transactions: 2, requests: 2, unsynced: 0 });
    await store.close();
  });

  it('keeps no process alive when idle, and none exits with a write in flight', async () => {
    const dir = tempDir();
    await SqliteStore.open({ dataDir: dir }).close(); // migrate once, before the children
    const module = new URL('../../src/store/sqlite.js', import.meta.url).href;
    // Never closed: an open, idle store must not hold the process; the write in flight
    // (nothing else keeps the loop alive) must still be answered first.
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(module)});
      const store = SqliteStore.open({ dataDir: process.argv[1] });
      store.appendAudit({ type: 'deny', outcome: 'child' }, ${JSON.stringify(TS)})
        .then((e) => console.log('written ' + e.seq));`;
    const child = spawn(
      process.execPath,
      [...process.execArgv, '--input-type=module', '-e', script, dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, out);
    assert.equal(out.trim(), 'written 1');
    const store = SqliteStore.open({ dataDir: dir });
    assert.equal((await store.listAudit({}))[0]?.outcome, 'child');
    await store.close();
  });
});
