/**
 * The PostgreSQL phases (issue #14's acceptance benchmark), parent side:
 *   b4pg — B4 with one and with two broker replicas on one database, against the commit
 *          floor (a one-row INSERT … COMMIT through the store's pool, same rate, same run);
 *   b1pg — B1 issuance against one and two replicas, autocannon dealing its connections to
 *          them round-robin, against one Ed25519 verify + sign measured in the same run.
 * The cluster is a private PostgreSQL 15 on 127.0.0.1 (test/helpers/postgres.ts) with
 * fsync and synchronous_commit on, its data on the system's temporary directory (a real
 * disk), free to run on every core. Each replica is its own process pinned to its own core
 * where the machine has the cores and `taskset`.
 */
import { randomBytes, sign, verify, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type PgCluster, startPostgres } from '../../test/helpers/postgres.js';
import type { ShareResult } from '../pg-lifecycle.js';
import type { PrincipalKey } from '../../src/governance/did-key.js';
import { authorizeBody, type PostgresReplica } from './broker.js';
import { ProofSigner } from './dpop.js';
import { type BenchChild, type Placement, sibling, spawnChild } from './child.js';
import { type LoadResult, runIssuanceLoad } from './http-load.js';
import { measure, type MicroTask } from './measure.js';
import { summarize, type Summary } from './stats.js';

/** B4's headline rate, and a lower one where a loaded machine may not saturate (full run). */
const PG_RATES = { quick: [100], full: [100, 25] };
const PUBLIC_URL = 'http://bastion.bench';

/** Where the replicas run: a core each while there are cores, else unpinned. */
export interface ReplicaPlacement {
  readonly cores: (number | undefined)[];
  readonly note: string;
}

export function replicaPlacement(placement: Placement, count: number): ReplicaPlacement {
  if (placement.brokerCore === undefined) {
    return {
      cores: Array.from({ length: count }, () => undefined),
      note: `replicas not pinned (${placement.note})`,
    };
  }
  const cores = Array.from({ length: count }, (_, k) => k % placement.cores);
  const shared = cores.includes(placement.loadCore ?? -1)
    ? `; core ${placement.loadCore} is also the load generator's (only ${placement.cores} cores)`
    : '';
  const doubled = count > placement.cores ? '; more replicas than cores: some share one' : '';
  return {
    cores,
    note: `${cores.map((c, k) => `replica ${k + 1} on core ${c}`).join(', ')}; PostgreSQL on any core${shared}${doubled}`,
  };
}

export interface PgSetting {
  readonly version: string;
  readonly fsync: string;
  readonly synchronousCommit: string;
  readonly dataDir: string;
}

/** A durable cluster for one phase, with a KEK file the replicas share; always cleaned up. */
async function withCluster<T>(
  placement: Placement,
  work: (cluster: PgCluster, kekFile: string, setting: PgSetting) => Promise<T>,
): Promise<T> {
  const cluster = await startPostgres({
    durable: true,
    cpus: placement.brokerCore === undefined ? undefined : `0-${placement.cores - 1}`,
  });
  const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-kek-'));
  try {
    const kekFile = join(dir, 'kek');
    writeFileSync(kekFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const admin = await cluster.admin('postgres');
    const show = async (name: string): Promise<string> =>
      String(
        (await admin.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]?.v,
      );
    const setting = {
      version: await show('server_version'),
      fsync: await show('fsync'),
      synchronousCommit: await show('synchronous_commit'),
      dataDir: tmpdir(),
    };
    await admin.end();
    return await work(cluster, kekFile, setting);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}

export interface PgB4Config {
  readonly replicas: number;
  readonly placement: string;
  readonly rate: number;
  readonly rounds: number;
  readonly floor: Summary;
  readonly backend: Summary;
  readonly lifecycle: Summary;
  readonly errors: number;
  /** Invocations completed per second over the lifecycle steps (below `rate`: saturated). */
  readonly achieved: number;
  /** Transactions that took an xid (wrote) per invocation at `rate`: each a durable commit. */
  readonly commitsPerInvocation: number;
  /** The same, invocations one at a time (nothing for group commit to merge). */
  readonly commitsPerSerialInvocation: number;
}

export interface PgB4Result {
  readonly setting: PgSetting;
  readonly configs: PgB4Config[];
}

/** The next transaction id, read without taking one (a read-only snapshot). */
async function nextXid(client: pg.Client): Promise<number> {
  const r = await client.query<{ x: string }>(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x',
  );
  return Number(r.rows[0]?.x);
}

const pool = (parts: ShareResult[][]): Summary =>
  summarize(parts.flat().flatMap((p) => p.latencies));

async function b4Config(
  cluster: PgCluster,
  kekFile: string,
  placement: Placement,
  replicas: number,
  quick: boolean,
): Promise<PgB4Config[]> {
  const url = await cluster.createDatabase();
  const where = replicaPlacement(placement, replicas);
  const script = sibling(import.meta.url, '../pg-lifecycle');
  const children: BenchChild[] = where.cores.map((core) => spawnChild(script, core));
  const counter = new pg.Client({ connectionString: url });
  try {
    const dids = await Promise.all(children.map((c) => c.call<{ did: string }>('key')));
    const postgres: PostgresReplica = { url, kekFile, publicUrl: PUBLIC_URL };
    // One after another: the first migrates the database and makes the signing key.
    for (const [k, child] of children.entries()) {
      await child.call('start', {
        principals: dids.map((d) => d.did),
        postgres,
        floor: k === 0,
        warmUp: quick ? 50 : 300,
      });
    }
    await counter.connect();
    const serial = quick ? 12 : 50;
    const serialFrom = await nextXid(counter);
    await children[0]?.call('serial', { n: serial });
    const serialXids = (await nextXid(counter)) - serialFrom;
    const rounds = quick ? 2 : 3;
    // Far enough ahead for every child to get the call before its first invocation is due.
    const soon = (): number => performance.timeOrigin + performance.now() + 100;
    const configs: PgB4Config[] = [];
    for (const rate of quick ? PG_RATES.quick : PG_RATES.full) {
      const n = Math.round(rate * (quick ? 1.5 : 4.5));
      const step = (cmd: string, cs: BenchChild[]): Promise<ShareResult[]> => {
        const startEpochMs = soon();
        return Promise.all(
          cs.map((c, index) =>
            c.call<ShareResult>(cmd, { rate, n, share: { index, of: cs.length, startEpochMs } }),
          ),
        );
      };
      const floor: ShareResult[][] = [];
      const backend: ShareResult[][] = [];
      const life: ShareResult[][] = [];
      let xids = 0;
      for (let round = 0; round < rounds; round++) {
        // Interleaved, so drift on a shared machine touches the figure and its baselines alike.
        floor.push(await step('floor', children.slice(0, 1)));
        backend.push(await step('backend', children));
        const before = await nextXid(counter);
        life.push(await step('lifecycle', children));
        xids += (await nextXid(counter)) - before;
      }
      const completed = life.flat().reduce((sum, p) => sum + p.latencies.length - p.errors, 0);
      const seconds = life.reduce((sum, st) => sum + Math.max(...st.map((p) => p.elapsedMs)), 0);
      configs.push({
        replicas,
        placement: where.note,
        rate,
        rounds,
        floor: pool(floor),
        backend: pool(backend),
        lifecycle: pool(life),
        errors: life.flat().reduce((sum, p) => sum + p.errors, 0),
        achieved: completed / (seconds / 1000),
        commitsPerInvocation: xids / (rounds * n),
        commitsPerSerialInvocation: serialXids / serial,
      });
    }
    return configs;
  } finally {
    await counter.end().catch(() => undefined);
    for (const child of children) await child.stop();
  }
}

export function runB4Pg(placement: Placement, options: { quick: boolean }): Promise<PgB4Result> {
  return withCluster(placement, async (cluster, kekFile, setting) => {
    const configs: PgB4Config[] = [];
    for (const replicas of [1, 2]) {
      configs.push(...(await b4Config(cluster, kekFile, placement, replicas, options.quick)));
    }
    return { setting, configs };
  });
}

export interface PgB1Config {
  readonly replicas: number;
  readonly placement: string;
  readonly load: LoadResult[];
}

export interface PgB1Result {
  readonly setting: PgSetting;
  /** One Ed25519 verify (a real proof) + sign (a real AC's bytes), on the load core. */
  readonly verifySign: MicroTask;
  readonly configs: PgB1Config[];
}

/** B1's baseline over the bytes of a proof and an AC the broker just issued. */
async function verifySignBaseline(
  brokerUrl: string,
  endpoint: string,
  principal: PrincipalKey,
  quick: boolean,
): Promise<MicroTask> {
  const dpop = new ProofSigner(principal).proof('POST', endpoint);
  const reply = await fetch(`${brokerUrl}/governance/authorize/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop },
    body: JSON.stringify(authorizeBody('noop')),
  });
  const { ac } = (await reply.json()) as { ac?: string };
  if (typeof ac !== 'string') throw new Error(`authorize answered ${reply.status} without an AC`);
  const parts = (jws: string) => {
    const [h = '', p = '', s = ''] = jws.split('.');
    return { input: Buffer.from(`${h}.${p}`), signature: Buffer.from(s, 'base64url') };
  };
  const p = parts(dpop);
  const a = parts(ac);
  const principalPublic = createPublicKey(principal.privateKey);
  const signer = generateKeyPairSync('ed25519').privateKey;
  const tasks = await measure(
    {
      'raw.verify+sign': () => {
        verify(null, p.input, principalPublic, p.signature);
        sign(null, a.input, signer);
      },
    },
    { rounds: quick ? 2 : 3, timeMs: quick ? 300 : 1000 },
  );
  const task = tasks['raw.verify+sign'];
  if (task === undefined) throw new Error('no verify+sign baseline');
  return task;
}

export function runB1Pg(placement: Placement, options: { quick: boolean }): Promise<PgB1Result> {
  return withCluster(placement, async (cluster, kekFile, setting) => {
    let verifySign: MicroTask | undefined;
    const configs: PgB1Config[] = [];
    for (const replicas of [1, 2]) {
      const url = await cluster.createDatabase();
      const where = replicaPlacement(placement, replicas);
      const load = await runIssuanceLoad(placement, {
        quick: options.quick,
        // c=8 as B1's headline; then one connection per replica.
        concurrencies: [8, replicas],
        replicas: { postgres: { url, kekFile, publicUrl: PUBLIC_URL }, cores: where.cores },
        onReady: async (brokerUrl, endpoint, principal) => {
          verifySign ??= await verifySignBaseline(brokerUrl, endpoint, principal, options.quick);
        },
      });
      configs.push({ replicas, placement: where.note, load });
    }
    if (verifySign === undefined) throw new Error('no verify+sign baseline');
    return { setting, verifySign, configs };
  });
}
