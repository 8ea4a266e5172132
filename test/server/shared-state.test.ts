/**
 * What replicas share, as startServer picks it (src/server/shared-state.ts): the
 * per-principal rate limit in the store on PostgreSQL — two limiters on two pools, as two
 * replicas, accept the limit once between them where two in-memory limiters accept it
 * twice — and the signing keys' home from the configuration and the store, with the KEK's
 * refusals (missing, readable by others, malformed, given twice).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { KEK_ENV } from '../../src/governance/key-wrap.js';
import type { Closable } from '../../src/server/plugins.js';
import { RateLimitedError, RateLimiter, StoreRateLimiter } from '../../src/server/rate-limit.js';
import { openKeyring, principalLimiter, publicKeysFor } from '../../src/server/shared-state.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';

const LIMIT = 5;
const limits = { limits: { rate_per_minute: LIMIT } } as const;
const kekText = (): string => randomBytes(32).toString('base64');

/** How many of `hits` were accepted; every refusal must be a RateLimitedError. */
async function accepted(hits: (() => void | Promise<void>)[]): Promise<number> {
  const results = await Promise.allSettled(hits.map(async (hit) => hit()));
  for (const r of results) {
    if (r.status === 'rejected') assert.ok(r.reason instanceof RateLimitedError, String(r.reason));
  }
  return results.filter((r) => r.status === 'fulfilled').length;
}

describe('state shared by replicas', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  let dir: string;
  const stores: Store[] = [];
  const owned: Closable[] = [];
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 0, 30));

  before(async () => {
    cluster = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'bastion-shared-'));
  });
  after(async () => {
    for (const o of owned.splice(0)) await o.close?.();
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const pg = async (url: string): Promise<Store> => {
    const store = await PostgresStore.open({ url });
    stores.push(store);
    return store;
  };
  const sqlite = (name: string): Store => {
    const store = SqliteStore.open({ dataDir: join(dir, name) });
    stores.push(store);
    return store;
  };

  it('gives a principal its limit once over two replicas on PostgreSQL', async () => {
    const url = await cluster.createDatabase();
    const a = principalLimiter(limits, await pg(url), clock);
    const b = principalLimiter(limits, await pg(url), clock);
    assert.ok(a instanceof StoreRateLimiter && b instanceof StoreRateLimiter);
    const spread = Array.from({ length: 20 }, (_, i) => () => (i % 2 ? a : b).hit('did:key:alice'));
    assert.equal(await accepted(spread), LIMIT);
    const refused = await Promise.resolve(a.hit('did:key:alice')).catch((e: unknown) => e);
    assert.ok(refused instanceof RateLimitedError);
    assert.equal(refused.httpHeaders()['retry-after'], '30', 'until the shared window ends');
    assert.equal(await accepted([() => a.hit('did:key:bob')]), 1, 'another principal');
    clock.advance(30_000);
    assert.equal(await accepted([() => b.hit('did:key:alice')]), 1, 'the next window');
  });

  it('(negative) two in-memory limiters accept the limit twice', async () => {
    const a = new RateLimiter(LIMIT, clock);
    const b = new RateLimiter(LIMIT, clock);
    const spread = Array.from({ length: 20 }, (_, i) => () => (i % 2 ? a : b).hit('did:key:alice'));
    assert.equal(await accepted(spread), 2 * LIMIT);
    assert.ok(principalLimiter(limits, sqlite('mem-limit'), clock) instanceof RateLimiter);
  });

  it('refuses a request when the store cannot count it', async () => {
    const store = await pg(await cluster.createDatabase());
    const limiter = principalLimiter(limits, store, clock);
    await store.close();
    await assert.rejects(Promise.resolve(limiter.hit('did:key:alice')), { code: 'store_closed' });
  });

  it('keeps the signing keys in files on SQLite and in the database on PostgreSQL by default', async () => {
    const env = { [KEK_ENV]: kekText() };
    const now = clock.now();
    const onSqlite = await openKeyring({ data_dir: join(dir, 'a') }, sqlite('a'), {
      env,
      now,
      owned,
    });
    assert.equal(onSqlite.home, 'files');
    const store = await pg(await cluster.createDatabase());
    const onPg = await openKeyring({ data_dir: join(dir, 'b') }, store, { env, now, owned });
    assert.equal(onPg.home, 'database');
    assert.equal((await store.listSigningKeys())[0]?.kid, onPg.activeKid);
    // What `bastion audit verify` checks checkpoints with: the same keys, from the same home.
    const keys = await publicKeysFor({ data_dir: join(dir, 'b') }, store, env);
    assert.deepEqual([...keys.keys()], [onPg.activeKid]);
    const stranger = { [KEK_ENV]: kekText() };
    await assert.rejects(publicKeysFor({ data_dir: join(dir, 'b') }, store, stranger), {
      code: 'signing_key_unwrap_failed',
    });
    const chosen = { data_dir: join(dir, 'c'), signing_keys: 'database' } as const;
    assert.equal((await openKeyring(chosen, sqlite('c'), { env, now, owned })).home, 'database');
    const files = { data_dir: join(dir, 'd'), signing_keys: 'files' } as const;
    assert.equal((await openKeyring(files, store, { env, now, owned })).home, 'files');
  });

  it('refuses database keys without a usable KEK', async () => {
    const store = await pg(await cluster.createDatabase());
    const now = clock.now();
    const config = { data_dir: join(dir, 'e') };
    const open = (env: NodeJS.ProcessEnv, file?: string) =>
      openKeyring({ ...config, key_encryption_key_file: file }, store, { env, now, owned });
    const refused = (why: RegExp) => (err: unknown) =>
      (err as { code?: unknown }).code === 'invalid_config' && why.test((err as Error).message);
    await assert.rejects(open({}), refused(/need a key-encryption key/));
    await assert.rejects(open({ [KEK_ENV]: 'c2hvcnQ=' }), refused(/base64 of 32 bytes/));
    const loose = join(dir, 'kek-loose');
    writeFileSync(loose, kekText(), { mode: 0o644 });
    await assert.rejects(open({}, loose), refused(/chmod 600/));
    const tight = join(dir, 'kek');
    writeFileSync(tight, `${kekText()}\n`, { mode: 0o600 });
    await assert.rejects(open({ [KEK_ENV]: kekText() }, tight), refused(/not both/));
    assert.equal((await open({}, tight)).home, 'database');
    assert.deepEqual(await store.listSigningKeys().then((k) => k.length), 1);
  });
});
