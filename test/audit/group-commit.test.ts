/**
 * Group commit: appends that arrive while a write is in progress are written together, in
 * one store transaction and one sink fsync, in call order, each acknowledged only once the
 * batch is durable; a lone append goes at once; one bad event fails only its own caller; a
 * failed batch fails every caller of it and acknowledges none. Both ways the sink's lines
 * are written: by the store's writer with the commit (a journaling store, the file store's
 * own way) and by the log itself before the commit (any other store). Concurrency is made
 * deterministic by holding the first store write on a gate, and writes are counted with
 * spies, never timed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { AuditLog } from '../../src/audit/log.js';
import { AUDIT_SINK_FILE } from '../../src/audit/sink.js';
import { verifyAudit } from '../../src/audit/verify.js';
import type { AuditEntry, AuditEvent } from '../../src/base/audit-records.js';
import { ManualClock } from '../../src/base/clock.js';
import { InvalidArgumentError } from '../../src/base/errors.js';
import { silentLogger } from '../../src/base/logger.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { StoreJournalError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { JournalWrite, Store } from '../../src/store/store.js';
import { spyDurableWrites } from '../helpers/durable-write-spy.js';
import { failedCommit } from '../helpers/failed-commit.js';
import { withMethods, withoutJournal } from '../helpers/with-methods.js';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** The store writes the log made: one array of events per transaction. */
interface Spied {
  readonly writes: AuditEvent[][];
  /** Releases the first write, held until then. */
  readonly release: () => void;
  /** Resolves when the first write reached the store (without a journal, its sink line is written by then). */
  readonly entered: Promise<void>;
  /** When set, every later commit fails as a disk error would (after its journal line). */
  failing: boolean;
  /** Journaling: the write of this number (1-based) fails its journal line, as a bad disk would. */
  readonly journalFailAt: number | undefined;
  /** Sink writes made, whoever made them, and done when a caller is acknowledged. */
  sinkWrites: () => number;
}

type Mode = 'journal' | 'log';

/**
 * `real`, with its audit writes recorded, the first held on a gate, and failable. In
 * `journal` mode the store appends the sink's lines (as the file store does); in `log` mode
 * it does not, and the log writes them itself.
 */
async function spiedStore(
  real: SqliteStore,
  mode: Mode,
  dir: string,
  sinkFailAt: number | undefined,
): Promise<{ store: Store; spied: Spied; restore: () => void }> {
  let release = (): void => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let enter = (): void => undefined;
  const entered = new Promise<void>((r) => (enter = r));
  let journaled = 0;
  const handles = await spyDurableWrites(dir, mode === 'log' ? sinkFailAt : undefined);
  const spied: Spied = {
    writes: [],
    release: () => release(),
    entered,
    failing: false,
    journalFailAt: mode === 'journal' ? sinkFailAt : undefined,
    sinkWrites: () => (mode === 'journal' ? journaled : handles.calls()),
  };
  const insert: Store['insertAuditEntries'] = async (entries, effects, options) => {
    spied.writes.push([...entries]);
    enter();
    if (spied.writes.length === 1) await gate;
    const journal = (options as { journal?: JournalWrite } | undefined)?.journal;
    if (journal !== undefined && spied.writes.length === spied.journalFailAt) {
      throw new StoreJournalError(); // as the writer answers a line it could not append
    }
    if (!spied.failing) {
      await real.insertAuditEntries(entries, effects, options);
      if (journal !== undefined) journaled += 1;
      return;
    }
    if (journal !== undefined) journaled += 1;
    return failedCommit(
      real,
      options,
      Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }),
    );
  };
  const base = mode === 'journal' ? real : withoutJournal<Store>(real);
  return {
    store: withMethods<Store>(base, { insertAuditEntries: insert }),
    spied,
    restore: handles.restore,
  };
}

/** `sinkFailAt`: the sink write of that number (1-based) fails, as a bad disk would. */
async function setup(mode: Mode, sinkFailAt?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-gc-'));
  roots.push(dir);
  const real = SqliteStore.open({ dataDir: dir });
  const keyring = await BrokerKeyring.open(dir);
  const { store, spied, restore } = await spiedStore(real, mode, dir, sinkFailAt);
  const log = await AuditLog.open({
    store,
    dataDir: dir,
    signer: () => keyring.signer,
    clock: new ManualClock(Date.now()),
    logger: silentLogger,
  });
  const sinkSeqs = (): number[] =>
    readFileSync(join(dir, AUDIT_SINK_FILE), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { seq?: number })
      .flatMap((line) => (line.seq === undefined ? [] : [line.seq]));
  const verify = async (): Promise<void> => {
    const report = await verifyAudit({
      store: real,
      sinkFile: join(dir, AUDIT_SINK_FILE),
      publicKeys: keyring.allPublicKeys(),
    });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  };
  const done = async (): Promise<void> => {
    restore();
    await log.close();
    await real.close();
  };
  return { dir, real, log, spied, sinkSeqs, verify, done };
}

const deny = (n: number): AuditEvent => ({ type: 'deny', outcome: `n${n}` });

const isUnavailable = (e: unknown): boolean => e instanceof AuditUnavailableError;

/** The promise's rejection (handled at once, so it is never unhandled), or undefined. */
const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

for (const mode of ['journal', 'log'] as const)
  describe(`AuditLog group commit (sink lines by the ${mode === 'journal' ? "store's writer" : 'log'})`, () => {
    it('writes N concurrent appends as one transaction and one fsync, chained in call order', async () => {
      const s = await setup(mode);
      const first = s.log.append(deny(0));
      const n = 20;
      // Each caller notes the fsyncs done when it is acknowledged: never before its batch's.
      const rest = Array.from({ length: n }, (_, i) =>
        s.log.append(deny(i + 1)).then((entry) => ({ entry, syncs: s.spied.sinkWrites() })),
      );
      await s.spied.entered;
      assert.equal(s.spied.writes.length, 1, 'the others wait for the write in progress');
      s.spied.release();
      assert.equal((await first).seq, 1);
      const acked = await Promise.all(rest);
      assert.deepEqual(
        s.spied.writes.map((w) => w.length),
        [1, n],
        'two store transactions for n + 1 appends',
      );
      assert.equal(s.spied.sinkWrites(), 2, 'two sink fsyncs for n + 1 appends');
      for (const [i, { entry, syncs }] of acked.entries()) {
        assert.equal(entry.seq, i + 2, 'seq follows call order');
        assert.equal(entry.outcome, `n${i + 1}`);
        assert.equal(syncs, 2, 'acknowledged after the batch was fsynced');
      }
      assert.deepEqual(
        s.sinkSeqs(),
        Array.from({ length: 21 }, (_, i) => i + 1),
      );
      await s.verify();
      await s.done();
    });

    it('writes a lone append at once, without waiting for company', async () => {
      const s = await setup(mode);
      s.spied.release();
      // Called back to back: had the first waited for company, both would be one write.
      const pending = s.log.append(deny(1));
      const next = s.log.append(deny(2));
      assert.deepEqual([(await pending).seq, (await next).seq], [1, 2]);
      assert.deepEqual(
        s.spied.writes.map((w) => w.length),
        [1, 1],
        'the first was written alone, at once; the second waited for it',
      );
      await s.done();
    });

    it('keeps an appendBatch whole and consecutive among other callers', async () => {
      const s = await setup(mode);
      const first = s.log.append(deny(0));
      const a = s.log.append(deny(1));
      const b = s.log.appendBatch([deny(2), deny(3)]);
      const c = s.log.append(deny(4));
      s.spied.release();
      await first;
      assert.deepEqual(
        [await a, ...(await b), await c].map((e: AuditEntry) => [e.seq, e.outcome]),
        [
          [2, 'n1'],
          [3, 'n2'],
          [4, 'n3'],
          [5, 'n4'],
        ],
      );
      assert.equal(s.spied.writes.length, 2);
      await s.verify();
      await s.done();
    });

    it('bounds a batch at 256 entries', async () => {
      const s = await setup(mode);
      const first = s.log.append(deny(0));
      const rest = Array.from({ length: 300 }, (_, i) => s.log.append(deny(i + 1)));
      s.spied.release();
      await first;
      await Promise.all(rest);
      assert.deepEqual(
        s.spied.writes.map((w) => w.length),
        [1, 256, 44],
      );
      await s.verify();
      await s.done();
    });

    it('rejects an invalid event for its caller only; the others of its batch are written', async () => {
      const s = await setup(mode);
      const first = s.log.append(deny(0));
      const a = s.log.append(deny(1));
      const bad = failure(s.log.append({ type: 'deny', detail: { password: 'hunter2' } }));
      const c = s.log.append(deny(3));
      s.spied.release();
      await first;
      assert.ok((await bad) instanceof InvalidArgumentError);
      assert.deepEqual([(await a).seq, (await c).seq], [2, 3]);
      assert.deepEqual(
        s.spied.writes.map((w) => w.length),
        [1, 2],
        'the invalid event never reached the store',
      );
      await s.verify();
      await s.done();
    });

    it('fails every caller of a batch the store fails, acknowledges none, and stores their sink lines with the next write', async () => {
      const s = await setup(mode);
      const all = [0, 1, 2, 3].map((i) => failure(s.log.append(deny(i))));
      s.spied.failing = true;
      s.spied.release();
      for (const p of all) assert.ok(isUnavailable(await p));
      assert.equal(await s.real.auditHead(), undefined, 'nothing was stored');
      // The sink went first: the lines are the trail's, though no caller was told so.
      assert.deepEqual(s.sinkSeqs(), [1, 2, 3, 4]);
      s.spied.failing = false;
      assert.equal((await s.log.append(deny(4))).seq, 5, 'the next write continues the sink');
      assert.equal((await s.real.auditHead())?.seq, 5, 'and stores what the sink held first');
      await s.verify();
      await s.done();
    });

    it('fails every caller of a batch whose sink fsync fails, and stores none of it', async () => {
      const s = await setup(mode, 2);
      const first = s.log.append(deny(0));
      const rest = [1, 2, 3].map((i) => failure(s.log.append(deny(i))));
      s.spied.release();
      await first;
      for (const p of rest) assert.ok(isUnavailable(await p));
      assert.equal((await s.real.auditHead())?.seq, 1, 'nothing of the failed batch is stored');
      // The chain goes on from the last line on the sink: the failed batch is not the trail's.
      assert.equal((await s.log.append(deny(4))).seq, 2);
      assert.deepEqual(s.sinkSeqs(), [1, 2]);
      await s.verify();
      await s.done();
    });
  });
