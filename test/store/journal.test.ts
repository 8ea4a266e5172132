/**
 * The journal: the audit sink's line appended by the store's writer right before it
 * commits the entries it goes with (store/journal.ts). On a file store (writer thread) and
 * in memory (inline): the line is in the file when the write resolves; a line that cannot be
 * appended fails its write, commits nothing and is not marked as appended; a commit that
 * fails after its line says the line was appended; a line cut short leaves the next one a
 * fresh start; a line alone goes in order with the writes around it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StoreJournalError, StoreUnavailableError } from '../../src/store/errors.js';
import { JournalAppender, journalAppended } from '../../src/store/journal.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { chained } from '../helpers/store-contract.js';
import { holdWriteLock } from '../helpers/sqlite-lock.js';

const roots: string[] = [];
const fds: number[] = [];
after(() => {
  for (const fd of fds) closeSync(fd);
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-journal-'));
  roots.push(dir);
  return dir;
}

/** A journal file as the audit sink is opened: append, O_SYNC. */
function journalFile(dir: string): { path: string; fd: number } {
  const path = join(dir, 'journal.jsonl');
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_SYNC,
    0o600,
  );
  fds.push(fd);
  return { path, fd };
}

const STORES: [string, (dir: string) => SqliteStore][] = [
  ['on file (writer thread)', (dir) => SqliteStore.open({ dataDir: dir, busyTimeoutMs: 50 })],
  ['in memory (inline)', () => SqliteStore.memory()],
];

for (const [kind, open] of STORES)
  describe(`SqliteStore journal, ${kind}`, () => {
    it('appends the line before the commit, and has both when the write resolves', async () => {
      const dir = tempDir();
      const store = open(dir);
      const { path, fd } = journalFile(dir);
      const entries = chained(undefined, [{ type: 'deny', outcome: 'a' }]);
      await store.insertAuditEntries(entries, [], { journal: { fd, text: 'line 1\n' } });
      assert.equal(readFileSync(path, 'utf8'), 'line 1\n');
      assert.equal((await store.auditHead())?.seq, 1);
      await store.appendJournal({ fd, text: 'checkpoint line\n' });
      const next = chained(entries.at(-1), [{ type: 'deny', outcome: 'b' }]);
      await store.insertAuditEntries(next, [], { journal: { fd, text: 'line 2\n' } });
      assert.equal(readFileSync(path, 'utf8'), 'line 1\ncheckpoint line\nline 2\n');
      await store.close();
    });

    it('commits nothing when the line cannot be appended, and says it was not', async () => {
      const dir = tempDir();
      const store = open(dir);
      const { path } = journalFile(dir);
      const readOnly = openSync(path, 'r'); // every write to it fails (EBADF)
      fds.push(readOnly);
      const entries = chained(undefined, [{ type: 'deny' }]);
      const err = await store
        .insertAuditEntries(entries, [], { journal: { fd: readOnly, text: 'lost\n' } })
        .then(
          () => assert.fail('the write succeeded'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof StoreJournalError, String(err));
      assert.equal(err.code, 'store_journal_failed');
      assert.equal(journalAppended(err), false);
      assert.equal(await store.auditHead(), undefined, 'nothing committed');
      await store.close();
    });
  });

describe('SqliteStore journal, a commit failing after its line', () => {
  it('says the line was appended (its entries are the trail’s)', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, busyTimeoutMs: 50 });
    const { path, fd } = journalFile(dir);
    const lock = holdWriteLock(dir); // the commit times out: unavailable
    try {
      const err = await store
        .insertAuditEntries(chained(undefined, [{ type: 'deny' }]), [], {
          journal: { fd, text: 'on the sink\n' },
        })
        .then(
          () => assert.fail('the write succeeded'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof StoreUnavailableError, String(err));
      assert.equal(journalAppended(err), true);
    } finally {
      lock.release();
    }
    assert.equal(readFileSync(path, 'utf8'), 'on the sink\n');
    assert.equal(await store.auditHead(), undefined);
    await store.close();
  });
});

describe('JournalAppender', () => {
  it('starts the next line afresh after one cut short', () => {
    const dir = tempDir();
    const path = join(dir, 'pipe');
    assert.equal(spawnSync('mkfifo', ['-m', '600', path]).status, 0);
    // Read-write and non-blocking: opening does not wait, and a full pipe refuses the rest.
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    fds.push(fd);
    const appender = new JournalAppender();
    const long = 'x'.repeat(1 << 20) + '\n'; // more than a pipe holds
    assert.throws(() => appender.append({ fd, text: long }), StoreJournalError);
    const drain = Buffer.alloc(1 << 16);
    let cut = 0;
    for (let n = 1; n > 0;) {
      try {
        n = readSync(fd, drain);
      } catch {
        n = 0; // EAGAIN: empty
      }
      cut += n;
    }
    assert.ok(cut > 0 && cut < long.length, `${cut} bytes of the long line went through`);
    appender.append({ fd, text: 'next\n' });
    const got = Buffer.alloc(64);
    const n = readSync(fd, got);
    assert.equal(got.subarray(0, n).toString(), '\nnext\n', 'a new line first');
    appender.append({ fd, text: 'then\n' });
    const m = readSync(fd, got);
    assert.equal(got.subarray(0, m).toString(), 'then\n', 'and only after a failure');
  });
});
