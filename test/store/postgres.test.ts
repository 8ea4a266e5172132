/**
 * What only the PostgreSQL store has to show, on a private cluster: brokers starting
 * together migrate once; a newer schema is refused; appends wait for the audit lock another
 * session holds (and time out as unavailable); an approval racing an activation is
 * refused once the activation commits; connection failures, timeouts and refused logins map
 * to stable errors that quote neither the URL nor PostgreSQL's text; the trail is
 * append-only in the database itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { ConfigError, InvalidArgumentError } from '../../src/base/errors.js';
import { freePort } from '../../src/base/free-port.js';
import { AuditChainConflictError, StoreUnavailableError } from '../../src/store/errors.js';
import type { AuditEntry } from '../../src/base/audit-records.js';
import { auditFields } from '../../src/store/audit-row.js';
import { AUDIT_LOCK, PG_MIGRATIONS } from '../../src/store/postgres-migrations.js';
import type { AcRecord } from '../../src/store/store.js';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';
import { testCa } from '../helpers/x509.js';
import { T0, T0_S, TS, chained, claimsFor, pendingAc } from '../helpers/store-contract.js';

const isUnavailable = (e: unknown): boolean =>
  e instanceof StoreUnavailableError && e.code === 'store_unavailable' && e.status === 503;

/** Returns once a session of the store waits on a lock; fails if `done` settles first. */
async function untilWaiting(admin: pg.Client, done: () => boolean): Promise<void> {
  for (;;) {
    assert.equal(done(), false, 'the call did not wait for the lock');
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE application_name = 'bastion' AND wait_event_type = 'Lock'`,
    );
    if ((rows[0]?.n ?? 0) > 0) return;
  }
}

/** `promise`, and a probe telling whether it has settled. */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const p = promise.finally(() => {
    settled = true;
  });
  p.catch(() => undefined);
  return { promise: p, settled: () => settled };
}

describe('PostgresStore on a real PostgreSQL 15', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  const stores: PostgresStore[] = [];
  const clients: pg.Client[] = [];
  const open = async (url: string, extra: Partial<PostgresStoreOptions> = {}) => {
    const store = await PostgresStore.open({ url, ...extra });
    stores.push(store);
    return store;
  };
  const admin = async (url: string): Promise<pg.Client> => {
    const client = await cluster.admin(new URL(url).pathname.slice(1));
    clients.push(client);
    return client;
  };
  before(async () => {
    cluster = await startPostgres({ tls: true });
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(clients.map((c) => c.end()));
    await cluster?.stop();
  });

  it('migrates once when several brokers open a new database at the same moment', async () => {
    const url = await cluster.createDatabase();
    await Promise.all(Array.from({ length: 4 }, () => open(url)));
    const { rows } = await (
      await admin(url)
    ).query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r) => Number(r.version)),
      PG_MIGRATIONS.map((m) => m.version),
    );
  });

  it('refuses a database a newer Bastion migrated, changing nothing', async () => {
    const url = await cluster.createDatabase();
    await (await open(url)).close();
    const db = await admin(url);
    await db.query('INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)');
    await assert.rejects(
      PostgresStore.open({ url }),
      (e: unknown) => e instanceof ConfigError && /newer/.test(e.message),
    );
    const { rows } = await db.query('SELECT 1 FROM schema_migrations WHERE version = 99');
    assert.equal(rows.length, 1);
  });

  it('makes an append wait for the audit lock, and a timed-out wait unavailable', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    const impatient = await open(url, { statementTimeoutMs: 1000 });
    const holder = await admin(url);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    await assert.rejects(impatient.appendAudit({ type: 'deny' }, TS), isUnavailable);
    const append = tracked(store.appendAudit({ type: 'deny', outcome: 'waited' }, TS));
    await untilWaiting(holder, append.settled);
    await holder.query('COMMIT');
    assert.equal((await append.promise).seq, 1);
    assert.equal((await impatient.appendAudit({ type: 'deny' }, TS)).seq, 2);
  });

  it('lets one of two brokers store entries chained from the same head', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = [await open(url), await open(url)];
    const head = await a.appendAudit({ type: 'authorize' }, TS);
    const results = await Promise.allSettled([
      a.insertAuditEntries(chained(head, [{ type: 'deny', outcome: 'a' }])),
      b.insertAuditEntries(chained(head, [{ type: 'deny', outcome: 'b' }])),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected');
    assert.ok(failed?.reason instanceof AuditChainConflictError);
    assert.equal((await b.auditHead())?.seq, 2);
  });

  it('chains from the head it reads when brokers let the store chain (replicas), effects and all', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = [await open(url), await open(url)];
    const acs = Array.from({ length: 20 }, () => pendingAc());
    const entries = await Promise.all(
      acs.map((ac, i) =>
        (i % 2 ? a : b).appendAuditChained(
          [auditFields({ type: 'authorize', ac_id: ac.ac_id, outcome: `o${i}` }, TS)],
          [{ kind: 'insert_ac', record: ac }],
        ),
      ),
    );
    assert.deepEqual(
      entries.map((e) => e[0]?.seq).sort((x, y) => (x ?? 0) - (y ?? 0)),
      acs.map((_, i) => i + 1),
    );
    let prev: string | undefined;
    for await (const entry of a.iterateAudit()) {
      if (prev !== undefined) assert.equal(entry.prev, prev);
      prev = entry.hash;
    }
    for (const ac of acs) assert.equal((await b.getAc(ac.ac_id))?.ac_id, ac.ac_id);
    // An effect that fails takes its entries with it.
    await assert.rejects(
      a.appendAuditChained(
        [auditFields({ type: 'deny' }, TS)],
        [{ kind: 'insert_ac', record: acs[0] as AcRecord }],
      ),
    );
    assert.equal((await a.auditHead())?.seq, 20);
  });

  it('marks each unfinished invocation once when two replicas start together', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = [await open(url), await open(url)];
    for (let i = 0; i < 5; i++)
      await a.appendAudit({ type: 'invoke_start', invocation_id: `inv-${i}` }, TS);
    const mark = (open: readonly AuditEntry[]) =>
      open.map((start) => ({
        type: 'invoke_interrupted' as const,
        invocation_id: start.invocation_id,
      }));
    const marked = await Promise.all([a, b, a, b].map((s) => s.appendForUnfinished(mark, TS)));
    assert.equal(marked.flat().length, 5);
    assert.deepEqual(await a.unfinishedInvocations(), []);
  });

  it('lets one of several sweeps expire a dead lease and mark its invocations, once', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = [await open(url), await open(url)];
    await a.renewLease('r-dead', T0 - 1);
    await a.renewLease('r-live', T0 + 30_000);
    for (const [id, replica] of [
      ['inv-1', 'r-dead'],
      ['inv-2', 'r-dead'],
      ['inv-3', 'r-live'],
    ] as const) {
      await a.appendAudit({ type: 'invoke_start', invocation_id: id, detail: { replica } }, TS);
    }
    const sawExpired: string[][] = [];
    const mark = (open: readonly AuditEntry[], expired: ReadonlySet<string>) => {
      sawExpired.push([...expired]);
      return open
        .filter((start) => expired.has(start.detail?.['replica'] as string))
        .map((start) => ({
          type: 'invoke_interrupted' as const,
          invocation_id: start.invocation_id,
        }));
    };
    const marked = await Promise.all([a, b, a, b].map((s) => s.appendForUnfinished(mark, TS, T0)));
    assert.equal(marked.flat().length, 2);
    // Only the transaction whose DELETE removed the dead lease saw it expired.
    assert.deepEqual(sawExpired, [['r-dead']]);
    assert.deepEqual(
      (await a.unfinishedInvocations()).map((e) => e.invocation_id),
      ['inv-3'],
    );
    assert.deepEqual(await a.liveReplicas(T0), ['r-live']);
  });

  it('refuses an approval that raced an activation, once the activation commits', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    const ac = pendingAc();
    await store.insertAc(ac);
    const activator = await admin(url);
    await activator.query('BEGIN');
    await activator.query(
      `UPDATE acs SET state = 'active', claims = $2, expires_at = $3, activated_at = $4
       WHERE ac_id = $1`,
      [ac.ac_id, JSON.stringify(claimsFor(ac, T0_S + 60)), T0_S + 60, T0],
    );
    const approval = tracked(store.addApproval(ac.ac_id, 'did:key:late', T0));
    await untilWaiting(activator, approval.settled);
    await activator.query('COMMIT');
    assert.equal(await approval.promise, false);
    assert.deepEqual(await store.listApprovals(ac.ac_id), []);
  });

  it('maps refused connections, lost connections, refused logins and TLS failures to stable errors', async () => {
    const port = await freePort(); // nothing listens there
    await assert.rejects(
      PostgresStore.open({
        url: `postgres://u:pw-3f9a@127.0.0.1:${port}/x`,
        connectTimeoutMs: 2000,
      }),
      isUnavailable,
    );
    const missing = await PostgresStore.open({
      url: cluster.url('no_such_db').replace('postgres@', 'postgres:pw-3f9a@'),
    }).catch((e: unknown) => e);
    assert.ok(missing instanceof ConfigError);
    assert.ok(!missing.message.includes('pw-3f9a') && !missing.message.includes('no_such_db'));
    await assert.rejects(PostgresStore.open({ url: 'mysql://x' }), ConfigError);
    // TLS settings reach the driver: `true` trusts the system's CAs, none of which signed
    // this server's certificate.
    const tlsUrl = await cluster.createDatabase();
    await assert.rejects(PostgresStore.open({ url: tlsUrl, ssl: true }), ConfigError);
    await assert.rejects(
      PostgresStore.open({ url: `${tlsUrl}?sslmode=require`, ssl: { rejectUnauthorized: true } }),
      (e: unknown) => e instanceof ConfigError && /not both/.test(e.message),
    );
    await (await open(tlsUrl)).close();

    const url = await cluster.createDatabase();
    const store = await open(url);
    await store.insertAc(pendingAc({ ac_id: 'ac-kept' }));
    await (
      await admin(url)
    ).query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'bastion' AND datname = current_database()`,
    );
    // A call may still find a connection that died; it fails as unavailable, and the pool
    // connects afresh for the next.
    for (;;) {
      const got = await store.getAc('ac-kept').then(
        (record) => record?.ac_id,
        (e: unknown) => e,
      );
      if (got === 'ac-kept') return;
      assert.ok(isUnavailable(got), String(got));
    }
  });

  it('speaks TLS with the CA it is given, and refuses a server that CA did not sign', async () => {
    const url = await cluster.createDatabase();
    const stranger = testCa('another CA');
    const wrongCa = stranger.certPem;
    stranger.remove();
    await assert.rejects(
      PostgresStore.open({ url, ssl: { ca: wrongCa, rejectUnauthorized: true } }),
      ConfigError,
    );
    const store = await open(url, { ssl: { ca: cluster.caPem, rejectUnauthorized: true } });
    await store.insertAc(pendingAc());
    const { rows } = await (
      await admin(url)
    ).query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
       WHERE application_name = 'bastion' AND datname = current_database() AND ssl`,
    );
    assert.ok((rows[0]?.n ?? 0) > 0, 'the store connected over TLS');
  });

  it('never quotes a value PostgreSQL refused', async () => {
    const store = await open(await cluster.createDatabase());
    const err = await store
      .insertAc(pendingAc({ target: 'MARKER-3f9a\u0000' }))
      .catch((e: unknown) => e);
    assert.ok(err instanceof InvalidArgumentError);
    assert.ok(!err.message.includes('MARKER'));
    assert.equal(err.cause, undefined);
  });

  it('makes UPDATE, DELETE and TRUNCATE of the trail fail in the database itself', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    const entry = await store.appendAudit({ type: 'deny' }, TS);
    await store.insertCheckpoint({ seq: 1, hash: entry.hash, ts: TS, jws: 'j' });
    const db = await admin(url);
    for (const sql of [
      "UPDATE audit SET outcome = 'x'",
      'DELETE FROM audit',
      'TRUNCATE audit',
      "UPDATE audit_checkpoints SET jws = 'x'",
      'DELETE FROM audit_checkpoints',
    ]) {
      await assert.rejects(db.query(sql), /append-only/, sql);
    }
    assert.deepEqual(await store.listAudit({}), [entry]);
  });
});
