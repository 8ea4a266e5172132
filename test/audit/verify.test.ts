/**
 * verifyAudit and `bastion audit` against real SQLite files and real broker keys. Each
 * tampering is done the way an intruder with the files would: straight on the database
 * with better-sqlite3 (dropping the append-only triggers first), on the sink or the witness
 * file, or by putting back an older copy of them. Each must be reported with its kind and
 * seq; an untouched trail is the control that verifies clean. What cannot be seen (the
 * documented limits) is asserted too, so that the README stays true.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { auditHash } from '../../src/base/audit-chain.js';
import { AuditLog, CHECKPOINT_TYP, type CheckpointLine } from '../../src/audit/log.js';
import { AUDIT_SINK_FILE } from '../../src/audit/sink.js';
import type { AuditEntry } from '../../src/base/audit-records.js';
import { checkpointValid } from '../../src/audit/checkpoint-check.js';
import type { AuditReport } from '../../src/audit/report.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { runAudit } from '../../src/cli/commands/audit.js';
import { ManualClock } from '../../src/base/clock.js';
import { ConfigError, InvalidArgumentError } from '../../src/base/errors.js';
import type { AcSigner } from '../../src/base/signer.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { silentLogger } from '../../src/base/logger.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server/app.js';
import { newMarker } from '../helpers/leak.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const DB = 'bastion.db';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-verify-'));
  roots.push(dir);
  return dir;
}

interface Broker {
  dir: string;
  store: SqliteStore;
  keyring: BrokerKeyring;
  log: AuditLog;
  clock: ManualClock;
  entries: AuditEntry[];
  /** Closes the log (which takes a last checkpoint), then the store. */
  stop: () => Promise<void>;
}

/**
 * A broker's audit on `dir` (new or existing), signing with `signer` or its own keyring,
 * appending its checkpoints to `witnessFile` when given.
 */
async function startBroker(
  dir: string,
  options: { signer?: () => AcSigner; witnessFile?: string } = {},
): Promise<Broker> {
  const { signer, witnessFile } = options;
  const store = SqliteStore.open({ dataDir: dir });
  const keyring = await BrokerKeyring.open(dir, T0);
  const clock = new ManualClock(T0);
  const log = await AuditLog.open({
    store,
    dataDir: dir,
    signer: signer ?? (() => keyring.signer),
    clock,
    logger: silentLogger,
    witnessFile,
  });
  return {
    dir,
    store,
    keyring,
    log,
    clock,
    entries: [],
    stop: async () => {
      await log.close();
      await store.close();
    },
  };
}

/** Appends `count` varied entries, taking a checkpoint after each seq in `checkpointAt`. */
async function record(
  b: Broker,
  count: number,
  checkpointAt: number[] = [],
  marker = 'm',
): Promise<void> {
  for (let i = 0; i < count; i++) {
    b.clock.advance(1000);
    const n = ((await b.store.auditHead())?.seq ?? 0) + 1;
    const kinds = [
      { type: 'authorize', actor: `did:key:${marker}`, ac_id: `ac-${n}` },
      {
        type: 'invoke_start',
        invocation_id: `inv-${n}`,
        ac_id: `ac-${n}`,
        target: 'db1.internal.test',
      },
      { type: 'credential_issue', detail: { fingerprint: `SHA256:${marker}${n}`, backend: 'dev' } },
      { type: 'revoke', actor: 'did:key:admin', outcome: 'ok', detail: { note: marker } },
    ] as const;
    b.entries.push(await b.log.append(kinds[n % kinds.length] ?? { type: 'deny' }));
    if (checkpointAt.includes(n)) await b.log.checkpoint();
  }
}

/**
 * Verifies `dir` as `bastion audit verify` would, with its own connection: against its sink
 * (or, `withSink` false, as --no-sink) and the witness when given.
 */
async function verifyDir(dir: string, withSink = true, witnessFile?: string): Promise<AuditReport> {
  const store = SqliteStore.open({ dataDir: dir });
  try {
    return await verifyAudit({
      store,
      sinkFile: withSink ? join(dir, AUDIT_SINK_FILE) : null,
      witnessFile,
      publicKeys: BrokerKeyring.publicKeysIn(dir),
    });
  } finally {
    await store.close();
  }
}

/**
 * Copies the database (with its WAL: a backup taken while the broker runs) and, unless
 * `withSink` is false, the sink; the function returned puts them back, as whoever restores
 * an older copy would.
 */
function snapshot(dir: string, withSink = true): () => void {
  const backup = tempDir();
  const files = [DB, `${DB}-wal`, ...(withSink ? [AUDIT_SINK_FILE] : [])];
  mkdirSync(join(backup, 'audit'));
  for (const name of files) copyFileSync(join(dir, name), join(backup, name));
  return () => {
    for (const name of files) copyFileSync(join(backup, name), join(dir, name));
    rmSync(join(dir, `${DB}-shm`), { force: true });
  };
}

/** Raw access to the database file, append-only triggers dropped, as an intruder has it. */
function tamper(dir: string, change: (db: Database.Database) => void): void {
  const db = new Database(join(dir, DB));
  db.exec(`
    DROP TRIGGER IF EXISTS audit_no_update;
    DROP TRIGGER IF EXISTS audit_no_delete;
    DROP TRIGGER IF EXISTS audit_checkpoints_no_update;
    DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;`);
  change(db);
  db.close();
}

type Row = Record<string, unknown> & { seq: number };

function rowAt(db: Database.Database, seq: number): Row {
  return db.prepare('SELECT * FROM audit WHERE seq = ?').get(seq) as Row;
}

/** The entry a raw row holds (null columns absent, detail parsed), to re-hash it. */
function entryOf(row: Row): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v !== null) entry[k] = k === 'detail' ? (JSON.parse(v as string) as unknown) : v;
  }
  return entry;
}

function writeRow(db: Database.Database, row: Row): void {
  const cols = Object.keys(row).filter((k) => k !== 'seq');
  db.prepare(`UPDATE audit SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE seq = @seq`).run(
    row,
  );
}

/** Recomputes the hash of `seq` as stored (and, with `rechain`, every later prev and hash). */
function rehash(db: Database.Database, from: number, rechain: boolean): void {
  const last = db.prepare('SELECT max(seq) FROM audit').pluck().get() as number;
  let prev: string | undefined;
  for (let seq = from; seq <= (rechain ? last : from); seq++) {
    const row = rowAt(db, seq);
    if (prev !== undefined) row['prev'] = prev;
    row['hash'] = auditHash(entryOf(row));
    writeRow(db, row);
    prev = row['hash'] as string;
  }
}

const kinds = (r: AuditReport): [string, number][] => r.problems.map((p) => [p.kind, p.seq]);

describe('verifyAudit: an untouched trail (control)', () => {
  it('verifies clean with and without the sink, and reports head, checkpoint and open invocations', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop();
    for (const withSink of [true, false]) {
      const report = await verifyDir(dir, withSink);
      assert.deepEqual(report.problems, []);
      assert.equal(report.ok, true);
      assert.equal(report.entries, 10);
      assert.deepEqual(report.head, { seq: 10, hash: b.entries[9]?.hash });
      assert.equal(report.lastCheckpoint?.seq, 10, 'close took the last checkpoint');
      // invoke_start at seqs 1, 5, 9 never ended.
      assert.deepEqual(
        report.interrupted,
        [1, 5, 9].map((seq) => ({ seq, invocation_id: `inv-${seq}`, ac_id: `ac-${seq}` })),
      );
    }
  });

  it('verifies an empty trail, and a long one read in several batches', async () => {
    const dir = tempDir();
    await SqliteStore.open({ dataDir: dir }).close();
    await BrokerKeyring.open(dir, T0);
    const empty = await verifyDir(dir, false);
    assert.deepEqual(empty, {
      ok: true,
      entries: 0,
      head: undefined,
      sink: null,
      witness: null,
      lastCheckpoint: undefined,
      problems: [],
      interrupted: [],
    });

    const store = SqliteStore.memory();
    for (let i = 0; i < 1234; i++)
      await store.appendAudit({ type: 'deny' }, new Date(T0).toISOString());
    const long = await verifyAudit({ store, sinkFile: null, publicKeys: new Map() });
    assert.equal(long.ok, true);
    assert.equal(long.entries, 1234);
    await store.close();
  });

  it('keeps working across restarts, key rotations and interrupted invocations being marked', async () => {
    const dir = tempDir();
    let b = await startBroker(dir);
    await record(b, 5, [3]);
    await b.stop();
    await BrokerKeyring.rotate(dir, T0 + 1);
    b = await startBroker(dir);
    assert.equal(await b.log.markInterrupted(), 2);
    await record(b, 3);
    await b.stop();
    const report = await verifyDir(dir);
    assert.deepEqual(report.problems, []);
    assert.equal(report.entries, 10);
    // Marked ones still show: they never ended normally (seq 9 is still open).
    assert.deepEqual(
      report.interrupted.map((i) => i.seq),
      [1, 5, 9].filter((s) => s <= 10),
    );
  });
});

describe('verifyAudit: tampering', () => {
  it('edited: a field of an entry changed', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop();
    tamper(dir, (db) => db.prepare("UPDATE audit SET outcome = 'denied' WHERE seq = 4").run());
    const report = await verifyDir(dir);
    assert.equal(report.ok, false);
    assert.deepEqual(kinds(report), [['edited', 4]]);
  });

  it('edited and re-hashed: the broken link, the checkpoint and the sink each tell', async () => {
    // Re-hashed alone: the next entry no longer links to it; the sink differs.
    let dir = tempDir();
    let b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop();
    tamper(dir, (db) => {
      db.prepare("UPDATE audit SET target = 'other.internal.test' WHERE seq = 8").run();
      rehash(db, 8, false);
    });
    assert.deepEqual(kinds(await verifyDir(dir)), [
      ['sink_mismatch', 8],
      ['reordered', 9],
    ]);

    // Re-chained to the head: the chain is consistent again, but it no longer matches the
    // signed checkpoints (6 on the sink, 10 in both), nor the sink; without the sink the
    // database's latest checkpoint still shows that the chain up to it was rebuilt.
    dir = tempDir();
    b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop();
    tamper(dir, (db) => {
      db.prepare("UPDATE audit SET target = 'other.internal.test' WHERE seq = 3").run();
      rehash(db, 3, true);
    });
    const report = await verifyDir(dir);
    assert.deepEqual(
      kinds(report).filter(([k]) => k === 'edited'),
      [
        ['edited', 6],
        ['edited', 10],
      ],
    );
    assert.deepEqual(
      kinds(report).filter(([k]) => k === 'sink_mismatch'),
      [3, 4, 5, 6, 7, 8, 9, 10].map((s) => ['sink_mismatch', s]),
    );
    assert.deepEqual(kinds(await verifyDir(dir, false)), [['edited', 10]]);
  });

  it('deleted: an entry, or several, removed from the middle', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop();
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq = 5').run());
    assert.deepEqual(kinds(await verifyDir(dir)), [['deleted', 5]]);
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq IN (2, 3)').run());
    const report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [
      ['deleted', 2],
      ['deleted', 5],
    ]);
    assert.match(report.problems[0]?.message ?? '', /entries 2 to 3 are missing/);
  });

  it('deleted: the first entries', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 4);
    await b.stop();
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq = 1').run());
    assert.deepEqual(kinds(await verifyDir(dir, false)), [['deleted', 1]]);
  });

  it('reordered: two entries swapped, as stored or re-hashed at their new places', async () => {
    const swap = (db: Database.Database, rehashed: boolean): void => {
      const a = rowAt(db, 3);
      const c = rowAt(db, 4);
      writeRow(db, { ...c, seq: 3 });
      writeRow(db, { ...a, seq: 4 });
      if (rehashed) {
        rehash(db, 3, false);
        rehash(db, 4, false);
      }
    };
    let dir = tempDir();
    let b = await startBroker(dir);
    await record(b, 8, [6]);
    await b.stop();
    tamper(dir, (db) => swap(db, false));
    const report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [
      ['reordered', 3],
      ['reordered', 4],
    ]);
    assert.match(report.problems[0]?.message ?? '', /holds the entry of seq 4/);

    dir = tempDir();
    b = await startBroker(dir);
    await record(b, 8, [6]);
    await b.stop();
    tamper(dir, (db) => swap(db, true));
    const rehashed = kinds(await verifyDir(dir, false));
    assert.deepEqual(rehashed[0], ['reordered', 3]);
    assert.ok(
      rehashed.every(([k]) => k === 'reordered'),
      JSON.stringify(rehashed),
    );
  });

  it('truncated: the entries after the last checkpoint removed (the sink still has them)', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    // The broker is still running: entries 7-10 are not checkpointed yet.
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq > 8').run());
    const report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [['truncated', 9]]);
    assert.equal(report.head?.seq, 8);
    // Without the sink, a tail removed after the last checkpoint cannot be seen: that is
    // what the sink is for.
    assert.equal((await verifyDir(dir, false)).ok, true);
    await b.log.close();
    await b.store.close();
  });

  it("truncated: entries up to the database's own checkpoint removed", async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop(); // checkpoint at 10
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq > 7').run());
    assert.deepEqual(kinds(await verifyDir(dir)), [['truncated', 8]]);
    assert.deepEqual(kinds(await verifyDir(dir, false)), [['truncated', 8]]);
  });

  it('rolled_back: the database restored from an older copy, then written again', async () => {
    const dir = tempDir();
    let b = await startBroker(dir);
    await record(b, 6, [6]);
    const restore = snapshot(dir, false); // the database alone
    await record(b, 3, [8]);
    await b.stop(); // checkpoint at 9
    restore();

    let report = await verifyDir(dir);
    assert.equal(report.head?.seq, 6);
    assert.equal(report.lastCheckpoint?.seq, 6);
    assert.deepEqual(kinds(report), [['rolled_back', 7]]);

    // The broker carries on from the old copy: seqs 7-9 are written a second time.
    b = await startBroker(dir);
    await record(b, 3, [], 'again');
    await b.stop();
    report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [['rolled_back', 7]]);
    assert.match(report.problems[0]?.message ?? '', /two different entries/);
  });

  it('sink_mismatch: the sink disagrees about an entry; its unreadable lines are reported', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 5);
    await b.stop();
    const file = join(dir, AUDIT_SINK_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    const second = JSON.parse(lines[1] ?? '') as AuditEntry;
    lines[1] = JSON.stringify({ ...second, hash: 'f'.repeat(64) });
    lines.splice(3, 0, 'not json');
    writeFileSync(file, lines.join('\n'));
    assert.deepEqual(kinds(await verifyDir(dir)), [
      ['sink_mismatch', 0],
      ['sink_mismatch', 2],
    ]);
  });

  it('tolerates a last sink line cut short by a crash', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 3);
    await b.stop();
    appendFileSync(join(dir, AUDIT_SINK_FILE), '{"seq":4,"ha');
    assert.deepEqual((await verifyDir(dir)).problems, []);
  });
});

describe('verifyAudit: checkpoints', () => {
  it('bad_checkpoint: signed by a key the broker never had', async () => {
    const dir = tempDir();
    const stranger = await BrokerKeyring.open(tempDir(), T0);
    const b = await startBroker(dir, { signer: () => stranger.signer });
    await record(b, 4, [2]);
    await b.stop();
    const report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [
      ['bad_checkpoint', 2],
      ['bad_checkpoint', 4],
    ]);
    assert.equal(report.lastCheckpoint, undefined);
  });

  it('bad_checkpoint: a tampered JWS, or a checkpoint row whose fields disagree with it', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 4, [2]);
    await b.stop();
    tamper(dir, (db) => {
      const jws = db
        .prepare('SELECT jws FROM audit_checkpoints WHERE seq = 4')
        .pluck()
        .get() as string;
      const [h, p, sig = ''] = jws.split('.');
      const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
      db.prepare('UPDATE audit_checkpoints SET jws = ? WHERE seq = 4').run(`${h}.${p}.${flipped}`);
      db.prepare(
        "UPDATE audit_checkpoints SET ts = '2020-01-01T00:00:00.000Z' WHERE seq = 2",
      ).run();
    });
    // Only the latest database checkpoint is read from the database; the sink's copies of
    // both are intact.
    assert.deepEqual(kinds(await verifyDir(dir)), [['bad_checkpoint', 4]]);
  });

  it('checkpointValid accepts only an EdDSA audit-checkpoint JWS by a known key over exactly these fields', async () => {
    const dir = tempDir();
    const keyring = await BrokerKeyring.open(dir, T0);
    const keys = keyring.allPublicKeys();
    const { kid, privateKey } = keyring.signer;
    const cp = { seq: 7, hash: 'a'.repeat(64), ts: new Date(T0).toISOString() };
    const sign = (
      payload: object,
      header: Record<string, unknown>,
      key = privateKey,
    ): Promise<string> =>
      new SignJWT({ ...payload }).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(key);
    const good = await sign(cp, { typ: CHECKPOINT_TYP, kid });
    assert.equal(checkpointValid({ ...cp, jws: good }, keys), true, 'control');
    const other = generateKeyPairSync('ed25519').privateKey;
    const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const forged = [
      await sign(cp, { typ: 'ac+jwt', kid }),
      await sign(cp, { typ: CHECKPOINT_TYP, kid: 'unknown' }),
      await sign(cp, { typ: CHECKPOINT_TYP }),
      await sign(cp, { typ: CHECKPOINT_TYP, kid }, other),
      await sign({ ...cp, seq: 8 }, { typ: CHECKPOINT_TYP, kid }),
      await sign({ ...cp, hash: 'b'.repeat(64) }, { typ: CHECKPOINT_TYP, kid }),
      await sign({ seq: cp.seq, hash: cp.hash }, { typ: CHECKPOINT_TYP, kid }),
      await sign(cp, { typ: CHECKPOINT_TYP, kid, crit: ['x'], x: 1 }).catch(() => good + 'x'),
      `${b64({ alg: 'none', typ: CHECKPOINT_TYP, kid })}.${b64(cp)}.`,
      `${b64({ alg: 'HS256', typ: CHECKPOINT_TYP, kid })}.${b64(cp)}.${good.split('.')[2]}`,
      good.split('.').slice(0, 2).join('.'),
      '',
      'x'.repeat(5000),
    ];
    for (const [i, jws] of forged.entries()) {
      assert.equal(checkpointValid({ ...cp, jws }, keys), false, `forgery ${i}`);
    }
  });
});

/** The sink's lines (the last, after the final newline, is ''). */
const sinkLines = (dir: string): string[] =>
  readFileSync(join(dir, AUDIT_SINK_FILE), 'utf8').split('\n');

describe('verifyAudit: a missing or shortened sink', () => {
  it('the trail of issue #10: tail rows and their checkpoints deleted, then the sink removed', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop(); // checkpoints at 6 and 10
    tamper(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq > 7').run();
      db.prepare('DELETE FROM audit_checkpoints WHERE seq > 7').run();
    });
    // With the sink in place the deletion shows: it goes past the database's head, with a
    // checkpoint the database no longer has.
    assert.deepEqual(kinds(await verifyDir(dir)), [['rolled_back', 8]]);

    rmSync(join(dir, AUDIT_SINK_FILE));
    const report = await verifyDir(dir);
    assert.equal(report.ok, false);
    assert.deepEqual(kinds(report), [['sink_missing', 0]]);
    assert.equal(report.sink, join(dir, AUDIT_SINK_FILE));
    // Said to have no sink, the same trail passes, and the report says the sink was not
    // checked: the tail after the database's last checkpoint is then a blind spot.
    const unchecked = await verifyDir(dir, false);
    assert.equal(unchecked.ok, true);
    assert.equal(unchecked.sink, null);
  });

  it('sink_truncated: the last lines of the sink cut, or all of them', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 10, [6]);
    await b.stop();
    const lines = sinkLines(dir); // entries 1-6, checkpoint 6, entries 7-10, checkpoint 10, ''
    assert.equal(lines.length, 13);
    writeFileSync(join(dir, AUDIT_SINK_FILE), lines.slice(0, -4).join('\n') + '\n');
    const report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [['sink_truncated', 9]]);
    assert.match(report.problems[0]?.message ?? '', /entries 9 to 10 are in the database but not/);
    writeFileSync(join(dir, AUDIT_SINK_FILE), '');
    assert.deepEqual(kinds(await verifyDir(dir)), [['sink_truncated', 1]]);
  });

  it('sink_mismatch: entry lines removed from the middle of the sink', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 8);
    await b.stop();
    const lines = sinkLines(dir);
    lines.splice(3, 2); // entries 4 and 5
    writeFileSync(join(dir, AUDIT_SINK_FILE), lines.join('\n'));
    const report = await verifyDir(dir);
    assert.deepEqual(kinds(report), [['sink_mismatch', 4]]);
    assert.match(report.problems[0]?.message ?? '', /entries 4 to 5 are in the database but not/);
  });
});

describe('verifyAudit: the witness', () => {
  /** A trail of 9 entries whose witness (in another directory) has checkpoints 6 and 9. */
  async function witnessed(): Promise<{ dir: string; witness: string; b: Broker }> {
    const dir = tempDir();
    const witness = join(tempDir(), 'witness.jsonl');
    const b = await startBroker(dir, { witnessFile: witness });
    await record(b, 9, [6]);
    await b.stop();
    return { dir, witness, b };
  }

  it('control: an untouched trail verifies clean against its witness, and says it checked it', async () => {
    const { dir, witness } = await witnessed();
    const report = await verifyDir(dir, true, witness);
    assert.deepEqual(report.problems, []);
    assert.equal(report.witness, witness);
    assert.deepEqual(
      readFileSync(witness, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as CheckpointLine).checkpoint.seq),
      [6, 9],
    );
  });

  it('rolled_back: database and sink restored together — seen with a witness, not without', async () => {
    const dir = tempDir();
    const witness = join(tempDir(), 'witness.jsonl');
    let b = await startBroker(dir, { witnessFile: witness });
    await record(b, 6, [6]);
    const restore = snapshot(dir);
    await record(b, 3);
    await b.stop(); // checkpoint at 9, on the sink and the witness
    restore();
    // The documented limit: database and sink agree with each other, so without a witness
    // nothing shows.
    assert.deepEqual((await verifyDir(dir)).problems, []);
    const report = await verifyDir(dir, true, witness);
    assert.deepEqual(kinds(report), [['rolled_back', 7]]);
    assert.match(report.problems[0]?.message ?? '', /the witness has a checkpoint of seq 9/);

    // A broker carries on from the old copy (without the witness: whoever restored it
    // dropped that too): seqs 7-9 are written a second time and signed again. Still nothing
    // without the witness; with it, two signed checkpoints of seq 9 that disagree.
    b = await startBroker(dir);
    await record(b, 3, [], 'again');
    await b.stop();
    assert.deepEqual((await verifyDir(dir)).problems, []);
    assert.deepEqual(kinds(await verifyDir(dir, true, witness)), [['rolled_back', 9]]);
  });

  it('cannot see what it never held: entries after its latest checkpoint, or a witness restored too', async () => {
    const dir = tempDir();
    const witness = join(tempDir(), 'witness.jsonl');
    const b = await startBroker(dir, { witnessFile: witness });
    await record(b, 6, [6]);
    await record(b, 2);
    const restore = snapshot(dir);
    await record(b, 2);
    // The broker dies before its next checkpoint: closing the store first fails the last one.
    await b.store.close();
    await b.log.close();
    restore();
    const report = await verifyDir(dir, true, witness);
    assert.deepEqual(report.problems, [], 'entries 9 and 10 were never witnessed');
    assert.equal(report.head?.seq, 8);

    // Database, sink and witness all put back together: nothing is left to tell.
    const again = await witnessed();
    writeFileSync(again.witness, readFileSync(again.witness, 'utf8').split('\n')[0] + '\n');
    tamper(again.dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq > 6').run();
      db.prepare('DELETE FROM audit_checkpoints WHERE seq > 6').run();
    });
    const lines = sinkLines(again.dir);
    writeFileSync(join(again.dir, AUDIT_SINK_FILE), lines.slice(0, 7).join('\n') + '\n');
    assert.deepEqual((await verifyDir(again.dir, true, again.witness)).problems, []);
  });

  it('reports a witness tampered with: an edited, unreadable, forged or misplaced line, or none at all', async () => {
    const { dir, witness, b } = await witnessed();
    const [six = '', nine = ''] = readFileSync(witness, 'utf8').trimEnd().split('\n');
    const variant = (...lines: string[]): string => {
      const file = join(tempDir(), 'witness.jsonl');
      writeFileSync(file, lines.map((l) => l + '\n').join(''));
      return file;
    };
    const check = async (file: string): Promise<[string, number][]> =>
      kinds(await verifyDir(dir, true, file));

    // Edited: another hash under the same signature.
    const cp6 = (JSON.parse(six) as CheckpointLine).checkpoint;
    const edited = JSON.stringify({ checkpoint: { ...cp6, hash: 'e'.repeat(64) } });
    let report = await verifyDir(dir, true, variant(edited, nine));
    assert.deepEqual(kinds(report), [['bad_checkpoint', 6]]);
    assert.match(report.problems[0]?.message ?? '', /on the witness/);
    // Unreadable, or an entry line (the witness holds checkpoints only).
    assert.deepEqual(await check(variant(six, 'not json', nine)), [['witness_mismatch', 0]]);
    assert.deepEqual(await check(variant(six, sinkLines(dir)[0] ?? '', nine)), [
      ['witness_mismatch', 0],
    ]);
    // Forged with the broker's key for an entry the chain does not have at that seq.
    const forged = { seq: 4, hash: 'f'.repeat(64), ts: cp6.ts };
    const jws = await new SignJWT({ ...forged })
      .setProtectedHeader({ alg: 'EdDSA', typ: CHECKPOINT_TYP, kid: b.keyring.signer.kid })
      .sign(b.keyring.signer.privateKey);
    report = await verifyDir(
      dir,
      true,
      variant(JSON.stringify({ checkpoint: { ...forged, jws } }), six, nine),
    );
    assert.deepEqual(kinds(report), [['edited', 4]]);
    assert.match(report.problems[0]?.message ?? '', /\(witness\)/);
    // Out of order: the witness only grows.
    assert.deepEqual(await check(variant(nine, six)), [['rolled_back', 6]]);
    // Missing.
    report = await verifyDir(dir, true, join(tempDir(), 'gone.jsonl'));
    assert.deepEqual(kinds(report), [['witness_missing', 0]]);
    // Control: the witness as written.
    assert.deepEqual(await check(variant(six, nine)), []);
  });
});

describe('verifyAudit: what the report says', () => {
  it('never quotes entry contents', async () => {
    const dir = tempDir();
    const marker = newMarker();
    const b = await startBroker(dir);
    await record(b, 8, [4], marker);
    await b.stop();
    tamper(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq = 2').run();
      db.prepare(`UPDATE audit SET actor = 'did:key:x${marker}' WHERE seq = 4`).run();
    });
    const report = await verifyDir(dir);
    assert.ok(report.problems.length >= 2);
    assert.equal(JSON.stringify(report.problems).includes(marker), false);
  });
});

/** Runs the command in-process, capturing what it writes to stdout. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  try {
    const code = await runAudit(args);
    return { code, out: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}

describe('bastion audit', () => {
  it('verify: exit 0 and a summary for a clean trail, 1 naming each problem for a tampered one', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 6, [3]);
    await b.stop();
    let r = await cli(['verify', '--data-dir', dir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /audit: OK/);
    assert.match(r.out, /entries +6 \(head seq 6\)/);
    assert.match(r.out, /last checkpoint +seq 6/);
    assert.match(
      r.out,
      /interrupted invocations \(2\):\n {2}seq 1 invocation inv-1 ac ac-1\n {2}seq 5 invocation inv-5 ac ac-5/,
    );

    r = await cli(['verify', '--data-dir', dir, '--json']);
    const json = JSON.parse(r.out) as AuditReport & { sink: string };
    assert.equal(r.code, 0);
    assert.equal(json.ok, true);
    assert.equal(json.sink, join(dir, AUDIT_SINK_FILE));

    tamper(dir, (db) => {
      db.prepare("UPDATE audit SET outcome = 'x' WHERE seq = 2").run();
      db.prepare('DELETE FROM audit WHERE seq = 4').run();
    });
    r = await cli(['verify', '--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /PROBLEMS FOUND/);
    assert.match(r.out, /edited at seq 2: /);
    assert.match(r.out, /deleted at seq 4: /);
    r = await cli(['verify', '--data-dir', dir, '--json']);
    assert.equal(r.code, 1);
    assert.deepEqual(kinds(JSON.parse(r.out) as AuditReport), [
      ['edited', 2],
      ['deleted', 4],
    ]);
  });

  it('verify: a missing sink fails; --no-sink checks the database alone and says so; --sink names a copy', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 4, [2]);
    await b.stop();
    const elsewhere = join(tempDir(), 'collected.jsonl');
    copyFileSync(join(dir, AUDIT_SINK_FILE), elsewhere);
    rmSync(join(dir, AUDIT_SINK_FILE));
    let r = await cli(['verify', '--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /PROBLEMS FOUND/);
    assert.match(r.out, /sink_missing at seq 0: /);
    r = await cli(['verify', '--data-dir', dir, '--json']);
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.out) as AuditReport).sink, join(dir, AUDIT_SINK_FILE));

    r = await cli(['verify', '--data-dir', dir, '--no-sink']);
    assert.equal(r.code, 0);
    assert.match(r.out, /audit: OK/);
    assert.match(r.out, /external sink +not checked \(--no-sink\)/);
    assert.match(
      r.out,
      /witness +none: a rollback of both the database and the sink cannot be seen/,
    );
    r = await cli(['verify', '--data-dir', dir, '--no-sink', '--json']);
    const json = JSON.parse(r.out) as AuditReport;
    assert.deepEqual([json.ok, json.sink, json.witness], [true, null, null]);

    r = await cli(['verify', '--data-dir', dir, '--sink', elsewhere]);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`external sink +${elsewhere}`));
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq > 3').run());
    r = await cli(['verify', '--data-dir', dir, '--sink', elsewhere]);
    assert.equal(r.code, 1);
    assert.match(r.out, /truncated at seq 4/);
  });

  it("verify --config: cross-checks the witness the broker's configuration names", async () => {
    const root = tempDir();
    const mount = tempDir();
    const witness = join(mount, 'witness.jsonl');
    const file = join(root, 'bastion.yaml');
    // Relative to the configuration file, as every path in it is.
    writeFileSync(
      file,
      `listen: 127.0.0.1:0\ndata_dir: data\nlog_level: silent\n` +
        `audit: { witness_file: ${relative(root, witness)} }\naccords: []\n`,
    );
    const dataDir = join(root, 'data');
    const server = await startServer({ config: loadConfig(file) });
    await server.audit.append({ type: 'deny' });
    await server.audit.checkpoint();
    const restore = snapshot(dataDir);
    await server.audit.append({ type: 'deny' });
    await server.close(); // the last checkpoint, of seq 2, on the witness too
    assert.equal(readFileSync(witness, 'utf8').trimEnd().split('\n').length, 2);

    let r = await cli(['verify', '--config', file]);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`witness +${witness}`));
    restore();
    r = await cli(['verify', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.out, /rolled_back at seq 2: .*witness has a checkpoint of seq 2/);
    // Without the configuration, the same rollback goes unseen unless --witness names it.
    assert.equal((await cli(['verify', '--data-dir', dataDir])).code, 0);
    r = await cli(['verify', '--data-dir', dataDir, '--witness', witness]);
    assert.equal(r.code, 1);
    // A witness named but gone is a problem, not a pass.
    rmSync(witness);
    r = await cli(['verify', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.out, /witness_missing at seq 0: /);
  });

  it('export: JSON Lines of the entries, all or after a seq', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 5);
    await b.stop();
    let r = await cli(['export', '--data-dir', dir]);
    assert.equal(r.code, 0);
    const exported = r.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    assert.deepEqual(exported, b.entries);
    r = await cli(['export', '--data-dir', dir, '--after', '3']);
    assert.deepEqual(
      r.out
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEntry).seq),
      [4, 5],
    );
    r = await cli(['export', '--data-dir', dir, '--after', '5']);
    assert.equal(r.out, '');
  });

  it('refuses bad usage without quoting it, and never creates a database', async () => {
    const dir = tempDir();
    const marker = newMarker();
    for (const args of [
      [],
      [marker],
      ['verify'],
      ['verify', '--data-dir', dir, `--${marker}`],
      ['verify', '--data-dir', dir, '--no-sink', '--sink', join(dir, marker)],
      ['verify', '--data-dir', dir, '--no-sink=yes'],
      ['export', '--data-dir', dir, '--after', marker],
      ['export', '--data-dir', dir, '--after', '-1'],
      ['export', '--data-dir', dir, 'extra'],
    ]) {
      await assert.rejects(
        runAudit(args),
        (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes(marker),
        JSON.stringify(args),
      );
    }
    await assert.rejects(runAudit(['export', '--data-dir', join(dir, 'nothing')]), ConfigError);
    assert.equal(existsSync(join(dir, 'nothing', DB)), false);
  });
});
