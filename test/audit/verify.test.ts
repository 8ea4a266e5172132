/**
 * verifyAudit and `bastion audit` against real SQLite files and real broker keys. Each
 * tampering is done the way an intruder with the files would: straight on the database
 * with better-sqlite3 (dropping the append-only triggers first), or by putting back an
 * older copy of it. Each must be reported with its kind and seq; an untouched trail is the
 * control that verifies clean.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { auditHash } from '../../src/base/audit-chain.js';
import { AuditLog, CHECKPOINT_TYP } from '../../src/audit/log.js';
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

/** A broker's audit on `dir` (new or existing), signing with `signer` or its own keyring. */
async function startBroker(dir: string, signer?: () => AcSigner): Promise<Broker> {
  const store = SqliteStore.open({ dataDir: dir });
  const keyring = await BrokerKeyring.open(dir, T0);
  const clock = new ManualClock(T0);
  const log = await AuditLog.open({
    store,
    dataDir: dir,
    signer: signer ?? (() => keyring.signer),
    clock,
    logger: silentLogger,
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

/** Verifies `dir` as `bastion audit verify` would, with its own connection. */
async function verifyDir(dir: string, withSink = true): Promise<AuditReport> {
  const store = SqliteStore.open({ dataDir: dir });
  try {
    return await verifyAudit({
      store,
      sinkFile: withSink ? join(dir, AUDIT_SINK_FILE) : undefined,
      publicKeys: BrokerKeyring.publicKeysIn(dir),
    });
  } finally {
    await store.close();
  }
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
      lastCheckpoint: undefined,
      problems: [],
      interrupted: [],
    });

    const store = SqliteStore.memory();
    for (let i = 0; i < 1234; i++)
      await store.appendAudit({ type: 'deny' }, new Date(T0).toISOString());
    const long = await verifyAudit({ store, publicKeys: new Map() });
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
    // A backup taken while the broker runs: the database and its WAL.
    const backup = tempDir();
    for (const name of [DB, `${DB}-wal`]) copyFileSync(join(dir, name), join(backup, name));
    await record(b, 3, [8]);
    await b.stop(); // checkpoint at 9
    for (const name of [DB, `${DB}-wal`]) copyFileSync(join(backup, name), join(dir, name));
    rmSync(join(dir, `${DB}-shm`), { force: true });

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
    const b = await startBroker(dir, () => stranger.signer);
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

  it('verify: compares with a sink file given by --sink (e.g. gathered from stdout)', async () => {
    const dir = tempDir();
    const b = await startBroker(dir);
    await record(b, 4, [2]);
    await b.stop();
    const elsewhere = join(tempDir(), 'collected.jsonl');
    copyFileSync(join(dir, AUDIT_SINK_FILE), elsewhere);
    rmSync(join(dir, AUDIT_SINK_FILE));
    let r = await cli(['verify', '--data-dir', dir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /external sink +none found/);
    tamper(dir, (db) => db.prepare('DELETE FROM audit WHERE seq > 3').run());
    r = await cli(['verify', '--data-dir', dir, '--sink', elsewhere]);
    assert.equal(r.code, 1);
    assert.match(r.out, /truncated at seq 4/);
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
