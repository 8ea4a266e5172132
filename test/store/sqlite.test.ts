/**
 * SqliteStore against real SQLite files: every method's round trip, conditional
 * transitions, replay detection, cleanup at its exact boundaries, persistence across a
 * restart, file modes, schema versioning, and that no column can hold a secret.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ConfigError, InvalidArgumentError } from '../../src/base/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, applyMigrations } from '../../src/store/migrations.js';
import { AcConflictError, StoreClosedError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AcRecord } from '../../src/store/store.js';
import { GENESIS } from '../../src/base/audit-chain.js';
import type { AuditEvent } from '../../src/base/audit-records.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';
import {
  T0,
  T0_S,
  TS,
  assertChain,
  claimsFor,
  collect,
  pendingAc,
} from '../helpers/store-contract.js';

const DB = 'bastion.db';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-store-'));
  roots.push(dir);
  return dir;
}

/** A store with one active AC expiring at `exp` (epoch s). */
async function withActive(store: SqliteStore, exp: number): Promise<AcRecord> {
  const ac = pendingAc();
  await store.insertAc(ac);
  assert.equal(await store.activateAc(ac.ac_id, claimsFor(ac, exp), exp, T0), true);
  return ac;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** A second, raw connection, to see what is really on disk. */
function raw(dir: string): Database.Database {
  return new Database(join(dir, DB));
}

describe('SqliteStore: ACs', () => {
  it('round-trips a pending AC without optional fields, which stay absent', async () => {
    const store = SqliteStore.memory();
    const ac = pendingAc();
    await store.insertAc(ac);
    const back = await store.getAc(ac.ac_id);
    assert.deepEqual(back, ac);
    assert.equal(back !== undefined && 'claims' in back, false);
    assert.equal(back !== undefined && 'justification' in back, false);
    assert.equal(await store.getAc('ac-unknown'), undefined);
    await store.close();
  });

  it('round-trips an AC inserted already active, with every field', async () => {
    const store = SqliteStore.memory();
    const base = pendingAc();
    const ac: AcRecord = {
      ...base,
      state: 'active',
      justification: 'INC-1234 disk full',
      claims: { ...claimsFor(base, T0_S + 300), nested: { list: [1, 'two', null] } },
      expires_at: T0_S + 300,
      activated_at: T0 + 5,
      approvals_required: 0,
    };
    await store.insertAc(ac);
    assert.deepEqual(await store.getAc(ac.ac_id), ac);
    await store.close();
  });

  it('throws AcConflictError on a duplicate ac_id and keeps the first record', async () => {
    const store = SqliteStore.memory();
    const ac = pendingAc();
    await store.insertAc(ac);
    await assert.rejects(
      store.insertAc({ ...ac, target: 'other.internal.test' }),
      (e: unknown) =>
        e instanceof AcConflictError &&
        e.code === 'ac_conflict' &&
        e.status === 409 &&
        !e.message.includes(ac.ac_id),
    );
    assert.equal((await store.getAc(ac.ac_id))?.target, ac.target);
    await store.close();
  });

  it('refuses records the schema forbids, without quoting them', async () => {
    const store = SqliteStore.memory();
    const marker = newMarker();
    const bad: [string, AcRecord][] = [
      // The CHECK constraint: an active AC must have claims and an expiry.
      ['active without expiry', pendingAc({ state: 'active', claims: { note: marker } })],
      ['revoked on insert', pendingAc({ state: 'revoked', revoked_by: marker })],
      ['fractional time', pendingAc({ requested_at: T0 + 0.5, accord: marker })],
      ['empty ac_id', pendingAc({ ac_id: '', accord: marker })],
    ];
    for (const [name, record] of bad) {
      await assert.rejects(
        store.insertAc(record),
        (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes(marker),
        name,
      );
      if (record.ac_id !== '') assert.equal(await store.getAc(record.ac_id), undefined, name);
    }
    await store.close();
  });
});

describe('SqliteStore: approvals', () => {
  it('counts an approver once, however often they approve', async () => {
    const store = SqliteStore.memory();
    const ac = pendingAc();
    await store.insertAc(ac);
    assert.equal(await store.addApproval(ac.ac_id, 'did:key:alice', T0 + 1), true);
    assert.equal(await store.addApproval(ac.ac_id, 'did:key:alice', T0 + 2), false);
    assert.equal(await store.addApproval(ac.ac_id, 'did:key:bob', T0 + 3), true);
    assert.deepEqual(await store.listApprovals(ac.ac_id), [
      { approver_did: 'did:key:alice', approved_at: T0 + 1 },
      { approver_did: 'did:key:bob', approved_at: T0 + 3 },
    ]);
    assert.deepEqual(await store.listApprovals('ac-unknown'), []);
    await store.close();
  });

  it('refuses approvals of an active, revoked or unknown AC', async () => {
    const store = SqliteStore.memory();
    const active = await withActive(store, T0_S + 300);
    const revoked = pendingAc();
    await store.insertAc(revoked);
    assert.equal(await store.revokeAc(revoked.ac_id, 'did:key:admin', T0, T0_S + 300), true);
    for (const acId of [active.ac_id, revoked.ac_id, 'ac-unknown']) {
      assert.equal(await store.addApproval(acId, 'did:key:alice', T0), false, acId);
      assert.deepEqual(await store.listApprovals(acId), [], acId);
    }
    await store.close();
  });
});

describe('SqliteStore: activation and revocation', () => {
  it('activates a pending AC once', async () => {
    const store = SqliteStore.memory();
    const ac = pendingAc();
    await store.insertAc(ac);
    const claims = claimsFor(ac, T0_S + 300);
    assert.equal(await store.activateAc(ac.ac_id, claims, T0_S + 300, T0 + 10), true);
    assert.deepEqual(await store.getAc(ac.ac_id), {
      ...ac,
      state: 'active',
      claims,
      expires_at: T0_S + 300,
      activated_at: T0 + 10,
    });
    assert.equal(await store.activateAc(ac.ac_id, { other: 1 }, T0_S + 900, T0 + 20), false);
    assert.deepEqual((await store.getAc(ac.ac_id))?.claims, claims, 'second call changed nothing');
    assert.equal(await store.activateAc('ac-unknown', {}, T0_S + 300, T0), false);
    await store.close();
  });

  it('refuses to activate a revoked AC', async () => {
    const store = SqliteStore.memory();
    const ac = pendingAc();
    await store.insertAc(ac);
    assert.equal(await store.revokeAc(ac.ac_id, 'did:key:admin', T0, T0_S + 300), true);
    assert.equal(await store.activateAc(ac.ac_id, {}, T0_S + 300, T0), false);
    assert.equal((await store.getAc(ac.ac_id))?.state, 'revoked');
    await store.close();
  });

  it('refuses claims that hold a secret-named field or a token-shaped value', async () => {
    const store = SqliteStore.memory();
    const ac = pendingAc();
    await store.insertAc(ac);
    const marker = newMarker();
    const jwt = `eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIke21hcmtlcn0ifQ.${marker}`;
    for (const claims of [
      { access_token: marker },
      { nested: { client_secret: marker } },
      { list: [{ privateKey: marker }] },
      { note: jwt },
      { note: `-----BEGIN OPENSSH PRIVATE KEY-----\n${marker}` },
    ]) {
      await assert.rejects(
        store.activateAc(ac.ac_id, claims, T0_S + 300, T0),
        (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes(marker),
      );
    }
    assert.equal((await store.getAc(ac.ac_id))?.state, 'pending_approval');
    await store.close();
  });

  it('revokes from pending or active once, and records who and when', async () => {
    const store = SqliteStore.memory();
    const pending = pendingAc();
    await store.insertAc(pending);
    const active = await withActive(store, T0_S + 300);
    for (const ac of [pending, active]) {
      assert.equal(await store.isRevoked(ac.ac_id), false);
      assert.equal(await store.revokeAc(ac.ac_id, 'did:key:admin', T0 + 7, T0_S + 300), true);
      assert.equal(await store.revokeAc(ac.ac_id, 'did:key:other', T0 + 8, T0_S + 300), false);
      assert.equal(await store.isRevoked(ac.ac_id), true);
      const back = await store.getAc(ac.ac_id);
      assert.equal(back?.state, 'revoked');
      assert.equal(back.revoked_at, T0 + 7);
      assert.equal(back.revoked_by, 'did:key:admin');
    }
    assert.equal(await store.revokeAc('ac-unknown', 'did:key:admin', T0, T0_S), false);
    assert.equal(await store.isRevoked('ac-unknown'), false);
    await store.close();
  });
});

describe('SqliteStore: DPoP proofs and key usage', () => {
  it('detects a replayed (jkt, jti) until cleanup removes the expired entry', async () => {
    const store = SqliteStore.memory();
    assert.equal(await store.rememberProof('jkt-a', 'jti-1', T0 + 1000), true);
    assert.equal(await store.rememberProof('jkt-a', 'jti-1', T0 + 1000), false);
    assert.equal(await store.rememberProof('jkt-a', 'jti-1', T0 + 9999), false);
    // The pair is the key: the same jti under another key is not a replay.
    assert.equal(await store.rememberProof('jkt-b', 'jti-1', T0 + 1000), true);
    assert.equal(await store.rememberProof('jkt-a', 'jti-2', T0 + 1000), true);
    // Expired but not yet cleaned up: still a replay.
    assert.equal(await store.rememberProof('jkt-a', 'jti-1', T0 + 1000), false);
    assert.deepEqual(await store.cleanup(T0 + 1001), { proofs: 3, revocations: 0 });
    assert.equal(await store.rememberProof('jkt-a', 'jti-1', T0 + 5000), true);
    await store.close();
  });

  it('keeps the latest exp per kid', async () => {
    const store = SqliteStore.memory();
    assert.equal(await store.keyLastExpiry('kid-1'), undefined);
    await store.noteKeyUse('kid-1', T0_S + 300);
    await store.noteKeyUse('kid-1', T0_S + 100);
    assert.equal(await store.keyLastExpiry('kid-1'), T0_S + 300);
    await store.noteKeyUse('kid-1', T0_S + 600);
    assert.equal(await store.keyLastExpiry('kid-1'), T0_S + 600);
    await store.noteKeyUse('kid-2', T0_S + 1);
    assert.equal(await store.keyLastExpiry('kid-2'), T0_S + 1);
    assert.equal(await store.keyLastExpiry('kid-1'), T0_S + 600);
    await store.close();
  });
});

describe('SqliteStore: cleanup', () => {
  const proofRows = [
    { name: 'expired 1 ms ago', expiresAt: T0 - 1, deleted: true },
    { name: 'expiring exactly now', expiresAt: T0, deleted: false },
    { name: 'expiring in 1 ms', expiresAt: T0 + 1, deleted: false },
  ];
  for (const row of proofRows) {
    it(`proof ${row.name}: ${row.deleted ? 'deleted' : 'kept'}`, async () => {
      const store = SqliteStore.memory();
      await store.rememberProof('jkt', 'jti', row.expiresAt);
      assert.deepEqual(await store.cleanup(T0), { proofs: row.deleted ? 1 : 0, revocations: 0 });
      assert.equal(await store.rememberProof('jkt', 'jti', T0 + 60_000), row.deleted);
      await store.close();
    });
  }

  // Revocation expiry is epoch seconds, `now` epoch ms.
  const revocationRows = [
    { name: 'AC expired 1 ms ago', now: T0 + 1, deleted: true },
    { name: 'AC expired 1 s ago', now: T0 + 1000, deleted: true },
    { name: 'AC expiring exactly now', now: T0, deleted: false },
    { name: 'AC expiring in 1 ms', now: T0 - 1, deleted: false },
    { name: 'AC expiring in 1 s', now: T0 - 1000, deleted: false },
  ];
  for (const row of revocationRows) {
    it(`revocation, ${row.name}: ${row.deleted ? 'deleted' : 'kept'}`, async () => {
      const dir = tempDir();
      const store = SqliteStore.open({ dataDir: dir });
      const ac = await withActive(store, T0_S);
      assert.equal(await store.revokeAc(ac.ac_id, 'did:key:admin', T0 - 5000, T0_S), true);
      assert.deepEqual(await store.cleanup(row.now), {
        proofs: 0,
        revocations: row.deleted ? 1 : 0,
      });
      const db = raw(dir);
      const left = db.prepare('SELECT count(*) FROM revocations').pluck().get();
      db.close();
      assert.equal(left, row.deleted ? 0 : 1);
      assert.equal(await store.isRevoked(ac.ac_id), true, 'the AC itself stays revoked');
      await store.close();
    });
  }

  it('keeps a revocation while its AC is valid, even if the revoker passed an earlier expiry', async () => {
    const store = SqliteStore.memory();
    const ac = await withActive(store, T0_S + 600);
    assert.equal(await store.revokeAc(ac.ac_id, 'did:key:admin', T0, T0_S), true);
    assert.deepEqual(await store.cleanup(T0 + 1000), { proofs: 0, revocations: 0 });
    assert.deepEqual(await store.cleanup(T0 + 600_000), { proofs: 0, revocations: 0 });
    assert.deepEqual(await store.cleanup(T0 + 600_001), { proofs: 0, revocations: 1 });
    assert.equal(await store.isRevoked(ac.ac_id), true);
    await store.close();
  });

  it('removes only what has expired from a mixed population', async () => {
    const store = SqliteStore.memory();
    const old = await withActive(store, T0_S - 60);
    const live = await withActive(store, T0_S + 60);
    const pending = pendingAc();
    await store.insertAc(pending);
    await store.revokeAc(old.ac_id, 'did:key:admin', T0 - 120_000, T0_S - 60);
    await store.revokeAc(live.ac_id, 'did:key:admin', T0 - 1000, T0_S + 60);
    await store.revokeAc(pending.ac_id, 'did:key:admin', T0 - 1000, T0_S + 60);
    await store.rememberProof('k', 'old', T0 - 1);
    await store.rememberProof('k', 'new', T0 + 1);
    assert.deepEqual(await store.cleanup(T0), { proofs: 1, revocations: 1 });
    assert.deepEqual(await store.cleanup(T0), { proofs: 0, revocations: 0 });
    for (const ac of [old, live, pending]) assert.equal(await store.isRevoked(ac.ac_id), true);
    assert.equal(await store.rememberProof('k', 'new', T0 + 1), false);
    await store.close();
  });
});

describe('SqliteStore: lifecycle and persistence', () => {
  it('rejects every call after close; close is idempotent', async () => {
    const store = SqliteStore.memory();
    await store.close();
    await store.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['insertAc', () => store.insertAc(pendingAc())],
      ['getAc', () => store.getAc('ac-1')],
      ['addApproval', () => store.addApproval('ac-1', 'did:key:a', T0)],
      ['listApprovals', () => store.listApprovals('ac-1')],
      ['activateAc', () => store.activateAc('ac-1', {}, T0_S, T0)],
      ['revokeAc', () => store.revokeAc('ac-1', 'did:key:a', T0, T0_S)],
      ['isRevoked', () => store.isRevoked('ac-1')],
      ['rememberProof', () => store.rememberProof('k', 'j', T0)],
      ['noteKeyUse', () => store.noteKeyUse('kid', T0_S)],
      ['keyLastExpiry', () => store.keyLastExpiry('kid')],
      ['cleanup', () => store.cleanup(T0)],
      ['appendAudit', () => store.appendAudit({ type: 'authorize' }, TS)],
      ['auditHead', () => store.auditHead()],
      ['listAudit', () => store.listAudit({})],
      ['iterateAudit', () => collect(store.iterateAudit())],
      ['unfinishedInvocations', () => store.unfinishedInvocations()],
      [
        'insertCheckpoint',
        () => store.insertCheckpoint({ seq: 1, hash: GENESIS, ts: TS, jws: 'x' }),
      ],
      ['latestCheckpoint', () => store.latestCheckpoint()],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(
        call(),
        (e: unknown) => e instanceof StoreClosedError && e.status === 503,
        name,
      );
    }
  });

  it('keeps everything across a restart', async () => {
    const dir = tempDir();
    const first = SqliteStore.open({ dataDir: dir });
    const pending = pendingAc({ justification: 'restart test' });
    await first.insertAc(pending);
    await first.addApproval(pending.ac_id, 'did:key:alice', T0 + 1);
    const active = await withActive(first, T0_S + 300);
    const revoked = await withActive(first, T0_S + 300);
    await first.revokeAc(revoked.ac_id, 'did:key:admin', T0 + 2, T0_S + 300);
    await first.rememberProof('jkt', 'jti', T0 + 60_000);
    await first.noteKeyUse('kid-1', T0_S + 300);
    const before = await Promise.all([pending, active, revoked].map((a) => first.getAc(a.ac_id)));
    await first.close();

    const second = SqliteStore.open({ dataDir: dir });
    const afterRestart = await Promise.all(
      [pending, active, revoked].map((a) => second.getAc(a.ac_id)),
    );
    assert.deepEqual(afterRestart, before);
    assert.equal(afterRestart[1]?.state, 'active');
    assert.deepEqual(await second.listApprovals(pending.ac_id), [
      { approver_did: 'did:key:alice', approved_at: T0 + 1 },
    ]);
    assert.equal(await second.addApproval(pending.ac_id, 'did:key:alice', T0 + 3), false);
    assert.equal(await second.isRevoked(revoked.ac_id), true);
    assert.equal(await second.isRevoked(active.ac_id), false);
    assert.equal(await second.revokeAc(revoked.ac_id, 'did:key:admin', T0, T0_S + 300), false);
    assert.equal(await second.rememberProof('jkt', 'jti', T0 + 60_000), false);
    assert.equal(await second.keyLastExpiry('kid-1'), T0_S + 300);
    await second.close();
  });

  it('lets exactly one of two connections win a race on one AC', async () => {
    const dir = tempDir();
    const a = SqliteStore.open({ dataDir: dir });
    const b = SqliteStore.open({ dataDir: dir });
    const ac = pendingAc();
    await a.insertAc(ac);
    const approvals = await Promise.all([
      a.addApproval(ac.ac_id, 'did:key:alice', T0),
      b.addApproval(ac.ac_id, 'did:key:alice', T0),
    ]);
    assert.deepEqual(approvals.sort(), [false, true]);
    const wins = await Promise.all([
      a.activateAc(ac.ac_id, claimsFor(ac, T0_S + 60), T0_S + 60, T0),
      b.activateAc(ac.ac_id, claimsFor(ac, T0_S + 60), T0_S + 60, T0),
    ]);
    assert.deepEqual(wins.sort(), [false, true]);
    const revokes = await Promise.all([
      a.revokeAc(ac.ac_id, 'did:key:x', T0, T0_S + 60),
      b.revokeAc(ac.ac_id, 'did:key:y', T0, T0_S + 60),
    ]);
    assert.deepEqual(revokes.sort(), [false, true]);
    await a.close();
    await b.close();
  });
});

describe('SqliteStore: files', () => {
  // 0o277 narrows mkdir's and open's modes below what is wanted: the chmods must restore them.
  for (const umask of [0o000, 0o277]) {
    it(`creates the data directory 0700 and the database and WAL files 0600 (umask ${umask.toString(8)})`, async () => {
      const dir = join(tempDir(), 'nested', 'data');
      const old = process.umask(umask);
      try {
        const store = SqliteStore.open({ dataDir: dir });
        await store.insertAc(pendingAc());
        await store.rememberProof('jkt', 'jti', T0);
        assert.equal(mode(dir), 0o700);
        assert.equal(mode(join(dir, '..')), 0o700);
        for (const name of [DB, `${DB}-wal`, `${DB}-shm`]) {
          assert.equal(mode(join(dir, name)), 0o600, name);
        }
        assert.ok(statSync(join(dir, `${DB}-wal`)).size > 0, 'the writes are in the WAL');
        await store.close();
        // Reopening recreates the WAL files; they must come back 0600 as well.
        const again = SqliteStore.open({ dataDir: dir });
        await again.noteKeyUse('kid', T0_S);
        for (const name of readdirSync(dir)) assert.equal(mode(join(dir, name)), 0o600, name);
        await again.close();
      } finally {
        process.umask(old);
      }
    });
  }

  it('tightens an existing database file and stale WAL companions to 0600', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, fileName: 'b.db' });
    await store.insertAc(pendingAc());
    await store.close();
    chmodSync(join(dir, 'b.db'), 0o644);
    // SQLite itself fixes the mode of an empty companion, not of one with content (as a
    // crash can leave behind).
    for (const suffix of ['-wal', '-shm']) {
      writeFileSync(join(dir, `b.db${suffix}`), suffix === '-shm' ? Buffer.alloc(32768) : '');
      chmodSync(join(dir, `b.db${suffix}`), 0o644);
    }
    const again = SqliteStore.open({ dataDir: dir, fileName: 'b.db' });
    await again.noteKeyUse('kid', T0_S);
    for (const name of readdirSync(dir)) assert.equal(mode(join(dir, name)), 0o600, name);
    await again.close();
  });

  it('refuses a file name with a path, a symlinked database, and a file that is not SQLite', () => {
    const dir = tempDir();
    for (const fileName of ['../escape.db', 'sub/x.db', '..', ':memory:', '']) {
      assert.throws(() => SqliteStore.open({ dataDir: dir, fileName }), ConfigError, fileName);
    }
    writeFileSync(join(dir, 'target.db'), '');
    symlinkSync(join(dir, 'target.db'), join(dir, 'link.db'));
    assert.throws(() => SqliteStore.open({ dataDir: dir, fileName: 'link.db' }), ConfigError);
    writeFileSync(join(dir, 'junk.db'), Buffer.alloc(4096, 0x41));
    assert.throws(
      () => SqliteStore.open({ dataDir: dir, fileName: 'junk.db' }),
      (e: unknown) => e instanceof ConfigError && /not a readable SQLite/.test(e.message),
    );
    writeFileSync(join(dir, 'plain-file'), '');
    assert.throws(() => SqliteStore.open({ dataDir: join(dir, 'plain-file') }), ConfigError);
  });
});

describe('migrations', () => {
  it('are ordered and applied once, however often the database is opened', async () => {
    assert.ok(MIGRATIONS.length > 0);
    assert.equal(LATEST_SCHEMA_VERSION, MIGRATIONS.at(-1)?.version);
    const dir = tempDir();
    for (let i = 0; i < 3; i++) await SqliteStore.open({ dataDir: dir }).close();
    const db = raw(dir);
    const versions = db.prepare('SELECT version FROM schema_migrations').pluck().all();
    assert.deepEqual(
      versions,
      MIGRATIONS.map((m) => m.version),
    );
    assert.deepEqual(applyMigrations(db), {
      from: LATEST_SCHEMA_VERSION,
      to: LATEST_SCHEMA_VERSION,
    });
    db.close();
  });

  it('apply a later migration to an existing database', () => {
    const db = new Database(':memory:');
    applyMigrations(db);
    const next = LATEST_SCHEMA_VERSION + 1;
    const more = [...MIGRATIONS, { version: next, sql: 'CREATE TABLE extra (x INTEGER) STRICT' }];
    assert.deepEqual(applyMigrations(db, more), { from: LATEST_SCHEMA_VERSION, to: next });
    assert.equal(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), next);
    db.close();
  });

  it('run in one transaction: a failing migration leaves nothing behind', () => {
    const db = new Database(':memory:');
    const broken = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, sql: 'CREATE TABLE (' }];
    assert.throws(() => applyMigrations(db, broken));
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
    assert.deepEqual(tables, []);
    db.close();
  });

  it('refuse out-of-order migration lists', () => {
    const db = new Database(':memory:');
    assert.throws(
      () =>
        applyMigrations(db, [
          { version: 2, sql: '' },
          { version: 1, sql: '' },
        ]),
      TypeError,
    );
    db.close();
  });

  it('refuse to open a database written by a newer Bastion, and release it', async () => {
    const dir = tempDir();
    await SqliteStore.open({ dataDir: dir }).close();
    const future = LATEST_SCHEMA_VERSION + 1;
    let db = raw(dir);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(future, T0);
    db.close();
    assert.throws(
      () => SqliteStore.open({ dataDir: dir }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'invalid_config' &&
        e.message.includes(`version ${future}`) &&
        e.message.includes('newer'),
    );
    // The failed open closed its connection and changed nothing.
    db = raw(dir);
    assert.equal(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), future);
    db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(future);
    db.close();
    await SqliteStore.open({ dataDir: dir }).close();
  });
});

describe('SqliteStore: no secrets on disk', () => {
  it('has no column named like a secret in any table', () => {
    const db = new Database(':memory:');
    applyMigrations(db);
    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    assert.deepEqual(tables, [
      'acs',
      'approvals',
      'audit',
      'audit_checkpoints',
      'key_usage',
      'proof_jtis',
      'rate_windows',
      'revocations',
      'schema_migrations',
      'signing_keys',
    ]);
    const secretLike = /token|secret|private|key|passw|credential|jwt|cert|material/i;
    const publicIds = new Set(['kid', 'cnf_jkt']);
    // What a rate limit counts by: the principal's DID, public.
    const publicColumns = new Set(['rate_windows.key']);
    // Control: the pattern does catch the names it is meant to catch.
    for (const name of ['access_token', 'client_secret', 'private_key', 'key_material']) {
      assert.match(name, secretLike);
    }
    const columns: string[] = [];
    for (const table of tables) {
      const info = db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)');
      for (const { name } of info.all(table)) columns.push(`${table}.${name}`);
    }
    assert.ok(columns.includes('acs.claims') && columns.includes('key_usage.kid'), 'saw columns');
    const flagged = columns.filter((c) => {
      const column = c.split('.')[1] ?? '';
      return secretLike.test(column) && !publicIds.has(column) && !publicColumns.has(c);
    });
    assert.deepEqual(flagged, []);
    db.close();
  });

  it('stores a planted metadata marker (control) but never a secret-named claim', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    const control = newMarker();
    const secret = newMarker();
    const ac = pendingAc();
    await store.insertAc(ac);
    await assert.rejects(
      store.activateAc(
        ac.ac_id,
        { ...claimsFor(ac, T0_S + 60), session_token: secret },
        T0_S + 60,
        T0,
      ),
      InvalidArgumentError,
    );
    const other = pendingAc({ justification: `ticket ${control}` });
    await store.insertAc(other);
    assert.equal(
      await store.activateAc(
        other.ac_id,
        { ...claimsFor(other, T0_S + 60), ticket: control },
        T0_S + 60,
        T0,
      ),
      true,
    );
    const onDisk = (): string =>
      readdirSync(dir)
        .map((name) => readFileSync(join(dir, name)).toString('latin1'))
        .join('\n');
    // Control, while the data sits in the WAL and again after it is checkpointed into the
    // main file on close: the scan sees what was written.
    assert.ok(onDisk().includes(control), 'the scan finds planted metadata in the WAL');
    expectNoMarker(onDisk(), secret, 'the database files');
    await store.close();
    assert.ok(readFileSync(join(dir, DB)).toString('latin1').includes(control));
    expectNoMarker(onDisk(), secret, 'the database file');
  });
});

describe('SqliteStore: audit trail', () => {
  const start = (id: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
    type: 'invoke_start',
    invocation_id: id,
    ac_id: `ac-${id}`,
    ...extra,
  });

  it('keeps one unbroken chain when several processes append at once', async () => {
    const dir = tempDir();
    await SqliteStore.open({ dataDir: dir }).close(); // migrate once, before the race
    const module = new URL('../../src/store/sqlite.js', import.meta.url).href;
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(module)});
      const store = SqliteStore.open({ dataDir: process.argv[1] });
      for (let i = 0; i < 40; i++) {
        await store.appendAudit({ type: 'deny', outcome: 'p' + process.pid + '-' + i }, ${JSON.stringify(TS)});
      }
      await store.close();`;
    // The same loader flags as this process (tsx when run from source, none when built).
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script, dir], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    const results = await Promise.all(
      children.map(
        (child) =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            let stderr = '';
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('close', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const store = SqliteStore.open({ dataDir: dir });
    const all = await collect(store.iterateAudit());
    assert.equal(all.length, 160);
    assertChain(all);
    assert.equal(new Set(all.map((e) => e.outcome)).size, 160);
    await store.close();
  });

  it('refuses a detail with a secret-named key or a token-shaped value, and bad events, without quoting them', async () => {
    const store = SqliteStore.memory();
    await store.appendAudit({ type: 'authorize' }, TS);
    const marker = newMarker();
    const jwt = `eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIke21hcmtlcn0ifQ.${marker}`;
    const bad: [string, AuditEvent, string][] = [
      ['secret key', { type: 'invoke_end', detail: { access_token: marker } }, TS],
      ['nested secret key', { type: 'invoke_end', detail: { a: { client_secret: marker } } }, TS],
      ['secret key in list', { type: 'invoke_end', detail: { l: [{ password: marker }] } }, TS],
      ['jwt value', { type: 'invoke_end', detail: { note: jwt } }, TS],
      [
        'pem value',
        { type: 'invoke_end', detail: { note: `-----BEGIN PRIVATE KEY-----${marker}` } },
        TS,
      ],
      ['jwt in a field', { type: 'invoke_end', outcome: jwt }, TS],
      ['detail not an object', { type: 'invoke_end', detail: [marker] as never }, TS],
      ['non-finite number', { type: 'invoke_end', detail: { n: NaN, m: marker } }, TS],
      ['unknown type', { type: marker as never }, TS],
      ['empty field', { type: 'deny', actor: '' }, TS],
      ['oversized field', { type: 'deny', target: 'x'.repeat(5000) + marker }, TS],
      ['oversized detail', { type: 'deny', detail: { big: 'x'.repeat(70_000), m: marker } }, TS],
      ['bad time', { type: 'deny' }, `2026-01-01 ${marker}`],
    ];
    for (const [name, event, ts] of bad) {
      await assert.rejects(
        store.appendAudit(event, ts),
        (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes(marker),
        name,
      );
    }
    assert.equal((await store.auditHead())?.seq, 1, 'nothing was appended');
    // Control: the same shapes with harmless names and values are accepted.
    await store.appendAudit({ type: 'invoke_end', detail: { fingerprint: 'SHA256:x', n: 1 } }, TS);
    assert.equal((await store.auditHead())?.seq, 2);
    await store.close();
  });

  it('lists invoke_start entries without an end or an interruption', async () => {
    const store = SqliteStore.memory();
    await store.appendAudit(start('i1'), TS); // 1: ends
    await store.appendAudit(start('i2'), TS); // 2: open
    await store.appendAudit({ type: 'credential_issue', invocation_id: 'i2' }, TS);
    await store.appendAudit({ type: 'invoke_end', invocation_id: 'i1' }, TS);
    await store.appendAudit(start('i3'), TS); // 5: interrupted
    await store.appendAudit({ type: 'invoke_interrupted', invocation_id: 'i3' }, TS);
    await store.appendAudit({ type: 'invoke_start' }, TS); // no invocation id: not tracked
    await store.appendAudit(start('i4'), TS); // 8: open
    const open = await store.unfinishedInvocations();
    assert.deepEqual(
      open.map((e) => [e.seq, e.invocation_id, e.ac_id]),
      [
        [2, 'i2', 'ac-i2'],
        [8, 'i4', 'ac-i4'],
      ],
    );
    await store.close();
  });

  it('stores checkpoints of real entries only, the first per seq, and returns the latest', async () => {
    const store = SqliteStore.memory();
    const e1 = await store.appendAudit({ type: 'authorize' }, TS);
    const e2 = await store.appendAudit({ type: 'approve' }, TS);
    await store.insertCheckpoint({ seq: 2, hash: e2.hash, ts: TS, jws: 'jws-2' });
    await store.insertCheckpoint({ seq: 1, hash: e1.hash, ts: TS, jws: 'jws-1' });
    await store.insertCheckpoint({ seq: 2, hash: e2.hash, ts: TS, jws: 'jws-2b' });
    assert.deepEqual(await store.latestCheckpoint(), {
      seq: 2,
      hash: e2.hash,
      ts: TS,
      jws: 'jws-2',
    });
    for (const cp of [
      { seq: 3, hash: e2.hash, ts: TS, jws: 'x' }, // no such entry
      { seq: 1, hash: e2.hash, ts: TS, jws: 'x' }, // wrong hash
      { seq: 2, hash: 'ab', ts: TS, jws: 'x' },
      { seq: 2, hash: e2.hash, ts: 'now', jws: 'x' },
      { seq: 2, hash: e2.hash, ts: TS, jws: '' },
    ]) {
      await assert.rejects(store.insertCheckpoint(cp), InvalidArgumentError);
    }
    await store.close();
  });

  it('makes UPDATE and DELETE of audit rows and checkpoints fail in the database itself', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    const e = await store.appendAudit({ type: 'authorize' }, TS);
    await store.insertCheckpoint({ seq: 1, hash: e.hash, ts: TS, jws: 'j' });
    const db = raw(dir);
    for (const sql of [
      "UPDATE audit SET outcome = 'x'",
      'DELETE FROM audit',
      "UPDATE audit_checkpoints SET jws = 'x'",
      'DELETE FROM audit_checkpoints',
    ]) {
      assert.throws(() => db.exec(sql), /append-only/, sql);
    }
    db.close();
    assert.deepEqual(await store.listAudit({}), [e]);
    await store.close();
  });

  it('migrates a version 1 database, keeping its ACs, and persists the trail across a restart', async () => {
    const dir = tempDir();
    const db = raw(dir);
    applyMigrations(db, MIGRATIONS.slice(0, 1));
    db.close();
    const first = SqliteStore.open({ dataDir: dir });
    const ac = pendingAc();
    await first.insertAc(ac);
    const e1 = await first.appendAudit({ type: 'authorize', ac_id: ac.ac_id }, TS);
    await first.close();
    const second = SqliteStore.open({ dataDir: dir });
    assert.deepEqual(await second.getAc(ac.ac_id), ac);
    const e2 = await second.appendAudit({ type: 'revoke', ac_id: ac.ac_id }, TS);
    assert.equal(e2.prev, e1.hash);
    assert.deepEqual(await second.listAudit({ ac_id: ac.ac_id }), [e1, e2]);
    await second.close();
  });
});
