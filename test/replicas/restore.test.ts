/**
 * Backup and restore of a PostgreSQL store, as the README says to do it: `pg_dump`, then
 * `dropdb`/`createdb` and `pg_restore`, then `bastion audit verify`. The broker (a real
 * `bastion serve`) keeps a witness file outside its data directory, which every checkpoint
 * reaches and no restore of the database takes back. Restoring the latest dump verifies
 * clean; restoring an older one, taken before more traffic and a later checkpoint, is
 * reported as `rolled_back` by verify, and by the broker when it starts on it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { MAIN, spawnBroker } from '../helpers/child-broker.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';

interface Report {
  ok: boolean;
  problems: { kind: string; seq: number }[];
  head?: { seq: number };
}

describe('a PostgreSQL store restored from a dump', { skip: skipWithoutPostgres() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-restore-'));
  const witness = join(dir, 'witness', 'witness.jsonl');
  const configFile = join(dir, 'bastion.yaml');
  const alice = generatePrincipalKey();
  let cluster: PgCluster;
  let database: string;

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    database = new URL(url).pathname.slice(1);
    mkdirSync(join(dir, 'witness'));
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    writeFileSync(join(dir, 'kek'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    writeFileSync(
      configFile,
      `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: warn
store: ${url}
key_encryption_key_file: ${join(dir, 'kek')}
audit: { witness_file: ${witness} }
accords:
  - id: ssh-ops
    principals: [${alice.did}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ops
`,
    );
  });
  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A broker run: `count` ACs issued (audit entries), then a clean stop (a checkpoint). */
  const traffic = async (count: number): Promise<void> => {
    const broker = await spawnBroker(configFile);
    try {
      const client = new BastionClient({ url: broker.url, key: alice });
      for (let i = 0; i < count; i++) {
        await client.authorize({
          accord: 'ssh-ops',
          connector: 'ssh',
          target: '127.0.0.1',
          capabilities: ['exec'],
          duration_seconds: 60,
        });
      }
    } finally {
      assert.equal(await broker.stop(), 0);
    }
  };
  const verify = (): { status: number | null; report: Report } => {
    const run = spawnSync(
      process.execPath,
      [MAIN, 'audit', 'verify', '--config', configFile, '--json'],
      { encoding: 'utf8' },
    );
    return { status: run.status, report: JSON.parse(run.stdout) as Report };
  };
  const lastWitnessSeq = (): number => {
    const lines = readFileSync(witness, 'utf8').trim().split('\n');
    return (JSON.parse(lines.at(-1) as string) as { checkpoint: { seq: number } }).checkpoint.seq;
  };

  it('verifies clean from the latest dump, and reports the rollback from an older one', async () => {
    await traffic(2);
    const older = join(dir, 'older.dump');
    await cluster.dump(database, older);
    const olderSeq = lastWitnessSeq();
    await traffic(3);
    const latest = join(dir, 'latest.dump');
    await cluster.dump(database, latest);
    const latestSeq = lastWitnessSeq();
    assert.ok(latestSeq > olderSeq, 'the witness advanced past the older dump');

    await cluster.restore(database, latest);
    const clean = verify();
    assert.deepEqual(clean.report.problems, []);
    assert.equal(clean.status, 0);
    assert.equal(clean.report.head?.seq, latestSeq);

    await cluster.restore(database, older);
    const rolledBack = verify();
    assert.equal(rolledBack.status, 1);
    assert.deepEqual(
      rolledBack.report.problems.map((p) => p.kind),
      ['rolled_back'],
    );
    assert.equal(rolledBack.report.head?.seq, olderSeq);

    // The broker starting on it says so too (and serves: verify is the judge).
    const broker = await spawnBroker(configFile);
    const stderr = broker.child.stderr;
    const ended = stderr === null || stderr.readableEnded ? undefined : once(stderr, 'end');
    assert.equal(await broker.stop(), 0);
    await ended; // every line it wrote has been read
    assert.match(broker.logs(), /witness .*restored from an older copy/);
  });
});
