/**
 * What the Store contract tests need of a backend: a fresh, empty database to open stores
 * on (several stores on one database are two brokers, or two connections), and the
 * fixtures they share. test/store/contract.test.ts runs the same tests on every backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS, auditHash } from '../../src/base/audit-chain.js';
import type { AuditEntry, AuditEvent } from '../../src/base/audit-records.js';
import { auditFields, chainAfter } from '../../src/store/audit-row.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AcRecord, Store } from '../../src/store/store.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from './postgres.js';
import assert from 'node:assert/strict';

export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0); // epoch ms
export const T0_S = T0 / 1000; // epoch s
export const TS = new Date(T0).toISOString();

/** Opens stores on one fresh database; every store opened is closed by `teardown`. */
export type Opener = () => Promise<Store>;

export interface Backend {
  readonly name: string;
  readonly skip: string | false;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A new empty database, and how to open a store on it. */
  fresh(): Promise<Opener>;
}

function tracking(): { track: (s: Store) => Store; closeAll: () => Promise<void> } {
  const open: Store[] = [];
  return {
    track: (s) => (open.push(s), s),
    closeAll: async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    },
  };
}

export function sqliteBackend(): Backend {
  const roots: string[] = [];
  const { track, closeAll } = tracking();
  return {
    name: 'SqliteStore (file)',
    skip: false,
    setup: () => Promise.resolve(),
    async teardown() {
      await closeAll();
      for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
    },
    fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'bastion-contract-'));
      roots.push(dir);
      return Promise.resolve(() => Promise.resolve(track(SqliteStore.open({ dataDir: dir }))));
    },
  };
}

export function postgresBackend(): Backend & { cluster(): PgCluster } {
  const skip = skipWithoutPostgres();
  let cluster: PgCluster | undefined;
  const { track, closeAll } = tracking();
  const started = (): PgCluster => {
    assert.ok(cluster !== undefined, 'setup() has not run');
    return cluster;
  };
  return {
    name: 'PostgresStore',
    skip,
    cluster: started,
    async setup() {
      cluster = await startPostgres();
    },
    async teardown() {
      await closeAll();
      await cluster?.stop();
    },
    async fresh() {
      const url = await started().createDatabase();
      return async () => track(await PostgresStore.open({ url }));
    },
  };
}

let acSeq = 0;
export function pendingAc(overrides: Partial<AcRecord> = {}): AcRecord {
  acSeq += 1;
  return {
    ac_id: `ac-${acSeq}`,
    principal_did: 'did:key:z6MkPrincipal',
    cnf_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    accord: 'ops-ssh',
    connector: 'ssh',
    target: 'db1.internal.test',
    capabilities: ['read', 'exec'],
    capability_mask: 3,
    duration_seconds: 300,
    approvals_required: 2,
    requested_at: T0,
    state: 'pending_approval',
    ...overrides,
  };
}

export function claimsFor(ac: AcRecord, exp: number): Record<string, unknown> {
  return { sub: ac.principal_did, jti: ac.ac_id, exp, cnf: { jkt: ac.cnf_jkt } };
}

/** Entries chained after `head` as the audit log chains them before its sink. */
export function chained(
  head: { seq: number; hash: string } | undefined,
  events: AuditEvent[],
): AuditEntry[] {
  return chainAfter(
    head,
    events.map((e) => auditFields(e, TS)),
  ).entries;
}

/** Asserts seq 1..n, each prev the hash before it, each hash recomputable. */
export function assertChain(entries: readonly AuditEntry[]): void {
  let prev = GENESIS;
  entries.forEach((entry, i) => {
    assert.equal(entry.seq, i + 1);
    assert.equal(entry.prev, prev, `prev of ${entry.seq}`);
    assert.equal(auditHash(entry), entry.hash, `hash of ${entry.seq}`);
    prev = entry.hash;
  });
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
