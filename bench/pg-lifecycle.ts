/**
 * Child process (one per replica, each pinned to its own core where the machine allows):
 * B4 on PostgreSQL. A broker replica on the shared database runs B4's lifecycle
 * (bench/lib/lifecycle-rig.ts) for its share of one open-loop schedule dealt out
 * round-robin to every replica; the first replica also measures the commit floor: a
 * one-row INSERT in its own transaction through the store's own pool settings and
 * transaction helper (`newPool`, `transaction`: the same `pg` driver, pool size and
 * round trips the store uses), at the same rate, in the same run.
 */
import { generatePrincipalKey, type PrincipalKey } from '../src/governance/did-key.js';
import { newPool } from '../src/store/postgres-open.js';
import { transaction } from '../src/store/postgres-tx.js';
import { serveParent } from './lib/child.js';
import { startBenchBroker, type BenchBroker, type PostgresReplica } from './lib/broker.js';
import { lifecycleRig, type LifecycleRig } from './lib/lifecycle-rig.js';
import { closedLoop, openLoop, type Share } from './lib/open-loop.js';

/** One open-loop step of this replica: its latencies (ms, NaN for a failure) and errors. */
export interface ShareResult {
  readonly latencies: number[];
  readonly errors: number;
  readonly elapsedMs: number;
}

interface StepArgs {
  readonly rate: number;
  readonly n: number;
  readonly share: Share;
}

let principal: PrincipalKey | undefined;
let broker: BenchBroker | undefined;
let rig: LifecycleRig | undefined;
let floorPool: ReturnType<typeof newPool> | undefined;

const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`pg-lifecycle: ${what} first`);
  return value;
};

const result = (loop: Awaited<ReturnType<typeof openLoop>>): ShareResult => ({
  latencies: [...loop.latencies],
  errors: loop.errors,
  elapsedMs: loop.elapsedMs,
});

/** The commit floor: BEGIN, one INSERT, COMMIT, as the store's transactions go. */
const floorCommit = (pool: ReturnType<typeof newPool>) => (): Promise<unknown> =>
  transaction(pool, (client) =>
    client.query('INSERT INTO bench_commit_floor (at, line) VALUES ($1, $2)', [
      Date.now(),
      'x'.repeat(400),
    ]),
  );

serveParent(
  {
    // The principal first: every replica's accord names every replica's principal.
    key: () => {
      principal = generatePrincipalKey();
      return Promise.resolve({ did: principal.did });
    },
    start: async (args) => {
      const { principals, postgres, floor, warmUp } = args as {
        principals: string[];
        postgres: PostgresReplica;
        floor: boolean;
        warmUp: number;
      };
      broker = await startBenchBroker({ principals, postgres });
      rig = await lifecycleRig(broker.server, need(principal, 'key'));
      const { invoke, proof } = rig;
      // Warm-up: JIT, the pool's connections, PostgreSQL's caches.
      const errors = await closedLoop(warmUp, 4, () => invoke(proof()));
      if (errors > 0) throw new Error(`${errors} warm-up invocations failed`);
      if (floor) {
        floorPool = newPool({ url: postgres.url });
        await floorPool.query(
          'CREATE TABLE IF NOT EXISTS bench_commit_floor (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, line TEXT NOT NULL)',
        );
        await closedLoop(100, 4, floorCommit(floorPool));
      }
      return { replicaUrl: broker.server.url };
    },
    // One at a time: nothing queues, so group commit has nothing to merge.
    serial: async (args) => {
      const { n } = args as { n: number };
      const { invoke, proof } = need(rig, 'start');
      const errors = await closedLoop(n, 1, () => invoke(proof()));
      if (errors > 0) throw new Error(`${errors} serial invocations failed`);
      return null;
    },
    floor: async (args) => {
      const { rate, n, share } = args as StepArgs;
      return result(await openLoop(rate, n, floorCommit(need(floorPool, 'start')), share));
    },
    backend: async (args) => {
      const { rate, n, share } = args as StepArgs;
      return result(await openLoop(rate, n, need(rig, 'start').backendCall, share));
    },
    lifecycle: async (args) => {
      const { rate, n, share } = args as StepArgs;
      const { invoke, proof } = need(rig, 'start');
      // Signed before the clock starts (the client's work), used within seconds.
      const proofs = Array.from({ length: n }, proof);
      return result(await openLoop(rate, n, (i) => invoke(proofs[i] ?? ''), share));
    },
  },
  async () => {
    await floorPool?.end();
    await broker?.close();
  },
);
