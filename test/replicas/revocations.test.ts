/**
 * Revocations reach every replica's verified-AC cache through PostgreSQL LISTEN/NOTIFY. Two
 * brokers run in this process (two `startServer`s, each with its own pool and listener, on
 * one database), so that B's cache can be read (`service.cachedAcs`); a subscriber the test
 * adds to B's store after B's own hears each notification right after B's handler did.
 * Revoked on A, the AC leaves B's cache; a lost listener connection empties it; and a
 * revocation whose notification never comes is still refused by the per-call check.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { type RunningServer, startServer } from '../../src/server/app.js';
import { REVOCATIONS_CHANNEL } from '../../src/store/store.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';
import { PUBLIC_URL, routedFetch } from '../helpers/replicas.js';

describe('revocations across replicas', { skip: skipWithoutPostgres() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-revocations-'));
  const alice = generatePrincipalKey();
  let cluster: PgCluster;
  let admin: pg.Client;
  let servers: RunningServer[] = [];

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    admin = await cluster.admin(new URL(url).pathname.slice(1));
    const kek = join(dir, 'kek');
    writeFileSync(kek, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    for (const name of ['a', 'b']) {
      mkdirSync(join(dir, name), { mode: 0o700 });
      const yaml = `listen: 127.0.0.1:0
data_dir: ${join(dir, name, 'data')}
public_url: ${PUBLIC_URL}
log_level: silent
store: ${url}
key_encryption_key_file: ${kek}
admins: [${alice.did}]
accords:
  - id: ssh-ops
    principals: [${alice.did}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ops
`;
      const config = parseConfig(yaml, join(dir, name, 'bastion.yaml'), {});
      servers.push(await startServer({ config, logDestination: false }));
    }
  });
  after(async () => {
    for (const server of servers) await server.close();
    servers = [];
    await admin?.end();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (which: 0 | 1): BastionClient =>
    new BastionClient({
      url: PUBLIC_URL,
      key: alice,
      fetch: routedFetch(() => (servers[which] as RunningServer).url),
    });
  const issue = async (): Promise<{ ac_id: string; ac: string }> => {
    const issued = await client(0).authorize({
      accord: 'ssh-ops',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['exec'],
      duration_seconds: 300,
    });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    return issued;
  };
  /** B, with the AC verified once (as its first use would): the AC is in B's cache. */
  const cachedOnB = async (ac: string): Promise<RunningServer> => {
    const b = servers[1] as RunningServer;
    const before = b.service.cachedAcs;
    await b.service.verify(ac);
    assert.equal(b.service.cachedAcs, before + 1);
    return b;
  };
  /** The next notification B's store hears on the revocations channel (after B's handler). */
  const nextOnB = async (): Promise<{ payload: Promise<string | undefined> }> => {
    const b = servers[1] as RunningServer;
    let heard!: (payload: string | undefined) => void;
    const payload = new Promise<string | undefined>((resolve) => (heard = resolve));
    const stop = await b.store.subscribe(REVOCATIONS_CHANNEL, (p) => heard(p));
    return { payload: payload.finally(() => stop()) };
  };
  const refused = (err: unknown): boolean => {
    assert.equal((err as { code?: string }).code, 'ac_revoked');
    return true;
  };

  it('a revocation on A drops the AC from B’s cache, and B refuses it', async () => {
    const { ac_id, ac } = await issue();
    const b = await cachedOnB(ac);
    const heard = await nextOnB();
    await client(0).revoke(ac_id);
    assert.equal(await heard.payload, ac_id, 'the payload is the AC id, never the token');
    assert.equal(b.service.cachedAcs, 0);
    await assert.rejects(b.service.verify(ac), refused);
  });

  it('a lost listener connection empties B’s cache, and the AC is verified afresh', async () => {
    const { ac } = await issue();
    const b = await cachedOnB(ac);
    const heard = await nextOnB();
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bastion-listen'`,
    );
    assert.equal(await heard.payload, undefined, 'reconnected: told some may be lost');
    assert.equal(b.service.cachedAcs, 0);
    await cachedOnB(ac);
  });

  it('a revocation whose notification is lost is still refused at B’s next use', async () => {
    const { ac_id, ac } = await issue();
    const b = await cachedOnB(ac);
    const cached = b.service.cachedAcs;
    // Revoked in the database with no NOTIFY, as if the notification had been lost.
    await admin.query(`UPDATE acs SET state = 'revoked', revoked_at = $2 WHERE ac_id = $1`, [
      ac_id,
      Date.now(),
    ]);
    assert.equal(b.service.cachedAcs, cached, 'no notification: B still holds the AC');
    await assert.rejects(b.service.verify(ac), refused);
  });
});
