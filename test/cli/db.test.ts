/**
 * `bastion db migrate | check`, on SQLite and on a real PostgreSQL 15: migrate creates or
 * upgrades the schema and is idempotent; check reads without migrating, says the version,
 * what is pending and the audit head, exits 1 when the schema is behind and non-zero when
 * it cannot connect (never quoting the URL's password).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { PoolClient } from 'pg';
import { freePort } from '../../src/base/free-port.js';
import { applyMigrations, LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { applyPgMigrations, PG_MIGRATIONS } from '../../src/store/postgres-migrations.js';
import { bastion } from '../helpers/cli.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-db-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Status {
  store: string;
  schema_version: number;
  latest_version: number;
  pending: number[];
  audit_head: { seq: number } | null;
  applied?: number[] | null;
}
const json = (stdout: string) => JSON.parse(stdout) as Status;

describe('bastion db on SQLite', () => {
  it('check refuses a data directory with no database, and does not create one', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r = bastion(['db', 'check', '--data-dir', empty]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no database here/);
    assert.equal(existsSync(join(empty, 'bastion.db')), false);
  });

  it('migrate creates and is idempotent; check then says up to date', () => {
    const data = join(dir, 'fresh');
    const first = bastion(['db', 'migrate', '--data-dir', data, '--json']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(json(first.stdout).schema_version, LATEST_SCHEMA_VERSION);
    const again = bastion(['db', 'migrate', '--data-dir', data, '--json']);
    assert.deepEqual(json(again.stdout).applied, []);
    const check = bastion(['db', 'check', '--data-dir', data, '--json']);
    assert.equal(check.status, 0);
    assert.deepEqual(json(check.stdout), {
      store: 'sqlite',
      schema_version: LATEST_SCHEMA_VERSION,
      latest_version: LATEST_SCHEMA_VERSION,
      pending: [],
      audit_head: null,
    });
    const text = bastion(['db', 'check', '--data-dir', data]);
    assert.match(text.stdout, /up to date/);
  });

  it('check exits 1 for a schema behind, without migrating it', () => {
    const data = join(dir, 'behind');
    mkdirSync(data);
    const db = new Database(join(data, 'bastion.db'));
    applyMigrations(db, MIGRATIONS.slice(0, -1));
    db.close();
    const latest = LATEST_SCHEMA_VERSION;
    for (let i = 0; i < 2; i++) {
      const check = bastion(['db', 'check', '--data-dir', data, '--json']);
      assert.equal(check.status, 1);
      assert.deepEqual(json(check.stdout).pending, [latest]);
    }
    const migrated = bastion(['db', 'migrate', '--data-dir', data, '--json']);
    assert.deepEqual(json(migrated.stdout).applied, [latest]);
    assert.equal(bastion(['db', 'check', '--data-dir', data]).status, 0);
  });
});

describe('bastion db on PostgreSQL', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('check exits 1 while a migration is pending; migrate applies it; --config or the env', async () => {
    const url = await cluster.createDatabase();
    const admin = await cluster.admin(new URL(url).pathname.slice(1));
    try {
      await applyPgMigrations(admin as unknown as PoolClient, PG_MIGRATIONS.slice(0, -1));
    } finally {
      await admin.end();
    }
    const latest = PG_MIGRATIONS.at(-1)?.version ?? 0;
    const env = { BASTION_DATABASE_URL: url };
    const data = join(dir, 'pg');
    const check = bastion(['db', 'check', '--data-dir', data, '--json'], env);
    assert.equal(check.status, 1, check.stderr);
    assert.deepEqual(json(check.stdout).pending, [latest]);
    assert.equal(json(check.stdout).store, 'postgres');

    const config = join(dir, 'pg.yaml');
    writeFileSync(config, `data_dir: ${data}\nstore: ${url}\naccords: []\n`);
    const migrated = bastion(['db', 'migrate', '--config', config, '--json']);
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.deepEqual(json(migrated.stdout).applied, [latest]);
    const after = bastion(['db', 'check', '--config', config, '--json']);
    assert.equal(after.status, 0);
    assert.deepEqual(json(after.stdout).pending, []);
    assert.equal(json(after.stdout).audit_head, null);
  });

  it('check fails when it cannot connect, quoting no password', async () => {
    const port = await freePort();
    const r = bastion(['db', 'check', '--data-dir', dir], {
      BASTION_DATABASE_URL: `postgres://u:hunter2-Zq9@127.0.0.1:${port}/none`,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /store_unavailable/);
    assert.equal((r.stderr + r.stdout).includes('hunter2'), false);
  });
});
