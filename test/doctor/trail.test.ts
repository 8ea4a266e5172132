/**
 * The audit sink and trail and the store, on a real broker's data directory (SQLite) and a
 * real PostgreSQL 15: a healthy trail verifies; a sink missing an entry fails the trail; a schema
 * behind fails the store and is neither opened nor migrated; a missing database fails; the
 * witness, the sink's directory and the free-space thresholds each fail or warn on cue.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { freePort } from '../../src/base/free-port.js';
import { parseConfig } from '../../src/config/config.js';
import {
  DISK_FAIL_BYTES,
  DISK_WARN_BYTES,
  checkSinkFiles,
  diskResult,
} from '../../src/doctor/audit-health.js';
import type { CheckResult } from '../../src/doctor/check.js';
import { runDoctor } from '../../src/doctor/run.js';
import { applyMigrations, MIGRATIONS } from '../../src/store/migrations.js';
import { databaseStatus } from '../../src/store/db-status.js';
import { startTestBroker } from '../helpers/broker.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'bastion-doctor-trail-'));
after(() => rmSync(root, { recursive: true, force: true }));

const statusOf = (results: CheckResult[], id: string) => results.find((r) => r.id === id)?.status;

describe('doctor: audit trail and store (SQLite)', () => {
  let dataDir = '';
  before(async () => {
    const broker = await startTestBroker();
    dataDir = broker.dataDir;
    const issued = await broker.client(broker.keys.alice).authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['exec'],
      duration_seconds: 60,
    });
    assert.equal(issued.status, 'active');
    await broker.close();
  });

  it('a healthy data directory: store current, sink writable, trail verifies', async () => {
    const results = await runDoctor({ dataDir });
    assert.equal(statusOf(results, 'store.reachable'), 'ok');
    assert.equal(statusOf(results, 'store.schema'), 'ok');
    assert.equal(statusOf(results, 'audit.sink'), 'ok');
    assert.equal(statusOf(results, 'audit.trail'), 'ok');
    assert.match(
      results.find((r) => r.id === 'audit.trail')?.message ?? '',
      /trail verifies: \d+ entries/,
    );
    assert.equal(statusOf(results, 'files.data_dir'), 'ok');
    assert.equal(statusOf(results, 'config.load'), 'skipped');
  });

  it('a sink missing an entry: the trail fails with what verify names', async () => {
    const sink = join(dataDir, 'audit', 'audit.jsonl');
    const lines = readFileSync(sink, 'utf8').trimEnd().split('\n');
    writeFileSync(sink, lines.slice(1).join('\n') + '\n');
    const trail = (await runDoctor({ dataDir })).find((r) => r.id === 'audit.trail');
    assert.equal(trail?.status, 'fail');
    assert.match(trail?.detail?.join('\n') ?? '', /sink_truncated|sink_mismatch/);
  });

  it('a schema behind fails the store, and is not migrated by the doctor', async () => {
    const data = join(root, 'behind');
    mkdirSync(data, { mode: 0o700 });
    const db = new Database(join(data, 'bastion.db'));
    applyMigrations(db, MIGRATIONS.slice(0, -1));
    db.close();
    const results = await runDoctor({ dataDir: data });
    assert.equal(statusOf(results, 'store.reachable'), 'ok');
    assert.equal(statusOf(results, 'store.schema'), 'fail');
    assert.equal(statusOf(results, 'audit.trail'), 'skipped');
    const still = await databaseStatus({ kind: 'sqlite' }, data);
    assert.equal(still.pending.length, 1);
  });

  it('no database at all fails the store', async () => {
    const data = join(root, 'empty');
    mkdirSync(data, { mode: 0o700 });
    const results = await runDoctor({ dataDir: data });
    assert.equal(statusOf(results, 'store.reachable'), 'fail');
    assert.match(
      results.find((r) => r.id === 'store.reachable')?.message ?? '',
      /no database here/,
    );
  });

  it('the witness: none configured warns, an unreachable one fails, a writable place passes', () => {
    const data = join(root, 'witness');
    mkdirSync(join(data, 'audit'), { recursive: true, mode: 0o700 });
    const config = (witness: string) =>
      parseConfig(`data_dir: ${data}\n${witness}\naccords: []\n`, join(root, 'w.yaml'));
    assert.equal(statusOf(checkSinkFiles(data, config(''), false), 'audit.witness'), 'warn');
    const gone = config(`audit: { witness_file: ${join(root, 'no-such-disk', 'witness')} }`);
    assert.equal(statusOf(checkSinkFiles(data, gone, false), 'audit.witness'), 'fail');
    const there = join(root, 'witness.jsonl');
    writeFileSync(there, '');
    const ok = config(`audit: { witness_file: ${there} }`);
    assert.equal(statusOf(checkSinkFiles(data, ok, false), 'audit.witness'), 'ok');
  });

  it("a sink not made yet warns; one that cannot be made fails; a shared store's is skipped", () => {
    const data = join(root, 'no-audit-dir');
    mkdirSync(data, { mode: 0o700 });
    assert.equal(statusOf(checkSinkFiles(data, undefined, false), 'audit.sink'), 'warn');
    // A data directory that is a file: nothing can be made under it.
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    assert.equal(
      statusOf(checkSinkFiles(join(file, 'data'), undefined, false), 'audit.sink'),
      'fail',
    );
    assert.equal(statusOf(checkSinkFiles(data, undefined, true), 'audit.sink'), 'skipped');
  });

  it('free space: fails below the floor, warns when low, ok otherwise', () => {
    const total = 100 * DISK_WARN_BYTES;
    assert.equal(diskResult('/d', DISK_FAIL_BYTES - 1, total).status, 'fail');
    assert.equal(diskResult('/d', DISK_WARN_BYTES - 1, total).status, 'warn');
    assert.equal(diskResult('/d', 2 * DISK_WARN_BYTES, total).status, 'warn'); // 2 % free
    assert.equal(diskResult('/d', 10 * DISK_WARN_BYTES, total).status, 'ok');
  });
});

describe('doctor: store on PostgreSQL', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('an empty database is reachable but behind; an unreachable server fails, quoting no password', async () => {
    const url = await cluster.createDatabase();
    const data = join(root, 'pg');
    mkdirSync(data, { mode: 0o700 });
    const config = join(root, 'pg.yaml');
    writeFileSync(config, `data_dir: ${data}\nstore: ${url}\naccords: []\n`, { mode: 0o600 });
    const results = await runDoctor({ configFile: config, offline: true });
    assert.equal(statusOf(results, 'store.reachable'), 'ok');
    assert.equal(statusOf(results, 'store.schema'), 'fail');
    assert.equal(statusOf(results, 'audit.sink'), 'skipped');

    const port = await freePort();
    const down = await runDoctor({
      dataDir: data,
      env: { BASTION_DATABASE_URL: `postgres://u:hunter2-Zq9@127.0.0.1:${port}/none` },
    });
    assert.equal(statusOf(down, 'store.reachable'), 'fail');
    assert.equal(JSON.stringify(down).includes('hunter2'), false);
  });
});
