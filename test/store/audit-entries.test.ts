/**
 * `insertAuditEntries`: entries the audit log chained itself (it writes them to its sink
 * before the store) are stored only when the store, re-chaining their fields after its own
 * head under the write lock, gets exactly their seqs and hashes; with their effects (an
 * issuance's AC row and key use) in the same transaction, all or nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/base/errors.js';
import type { AuditEntry } from '../../src/base/audit-records.js';
import { AcConflictError, AuditChainConflictError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AcRecord } from '../../src/store/store.js';
import { TS, chained } from '../helpers/store-contract.js';

const ac = (id: string): AcRecord => ({
  ac_id: id,
  principal_did: 'did:key:z6MkPrincipal',
  cnf_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
  accord: 'ops',
  connector: 'ssh',
  target: 'db1.internal.test',
  capabilities: ['exec'],
  capability_mask: 2,
  duration_seconds: 300,
  approvals_required: 0,
  requested_at: Date.parse(TS),
  state: 'pending_approval',
});

const roots: string[] = [];
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

/** A file store (writes in its writer thread), in a fresh directory. */
function fileStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-entries-'));
  roots.push(dir);
  return SqliteStore.open({ dataDir: dir });
}

const STORES: [string, () => SqliteStore][] = [
  ['in memory (inline)', () => SqliteStore.memory()],
  ['on file (writer thread)', fileStore],
];

const isConflict = (e: unknown): boolean =>
  e instanceof AuditChainConflictError && e.code === 'audit_chain_conflict' && e.status === 409;

for (const [kind, open] of STORES)
  describe(`SqliteStore.insertAuditEntries, ${kind}`, () => {
    it('stores entries that continue its head, readable as the store appended them', async () => {
      const store = open();
      const first = await store.appendAudit({ type: 'authorize', actor: 'did:key:a' }, TS);
      const next = chained(first, [
        { type: 'invoke_start', invocation_id: 'i1' },
        { type: 'invoke_end', invocation_id: 'i1', detail: { exit: 0 } },
      ]);
      await store.insertAuditEntries(next);
      assert.deepEqual(await store.listAudit({}), [first, ...next]);
      // And an append after them chains on, as after any other entry.
      const after = await store.appendAudit({ type: 'deny' }, TS);
      assert.equal(after.prev, next[1]?.hash);
      await store.close();
    });

    it('refuses entries chained after a stale head, storing none of them', async () => {
      const store = open();
      const stale = chained(undefined, [{ type: 'deny', outcome: 'a' }]);
      await store.appendAudit({ type: 'deny', outcome: 'moved' }, TS);
      await assert.rejects(store.insertAuditEntries(stale), isConflict);
      assert.equal((await store.auditHead())?.seq, 1);
      await store.close();
    });

    it('refuses an entry whose hash does not cover its fields, and the batch with it', async () => {
      const store = open();
      const [a, b] = chained(undefined, [
        { type: 'deny', outcome: 'a' },
        { type: 'deny', outcome: 'b' },
      ]) as [AuditEntry, AuditEntry];
      // The same hash and links, a field changed: what an editor of the sink would produce.
      await assert.rejects(store.insertAuditEntries([a, { ...b, outcome: 'edited' }]), isConflict);
      await assert.rejects(
        store.insertAuditEntries([a, { ...b, seq: 3 }]),
        isConflict,
        'a seq that skips',
      );
      assert.equal(await store.auditHead(), undefined);
      await store.close();
    });

    it('refuses an entry shaped like a secret, as appendAudit does', async () => {
      const store = open();
      const [clean] = chained(undefined, [{ type: 'invoke_end' }]) as [AuditEntry];
      const secret = { ...clean, detail: { password: 'x' } };
      await assert.rejects(
        store.insertAuditEntries([secret]),
        (e: unknown) => e instanceof InvalidArgumentError,
      );
      assert.equal(await store.auditHead(), undefined);
      await store.close();
    });

    it('stores the effects in the same transaction: an AC row and its key use', async () => {
      const store = open();
      const entries = chained(undefined, [{ type: 'authorize', ac_id: 'ac-1' }]);
      await store.insertAuditEntries(entries, [
        { kind: 'insert_ac', record: ac('ac-1') },
        { kind: 'note_key_use', kid: 'k1', exp: 1_900_000_000 },
      ]);
      assert.equal((await store.getAc('ac-1'))?.ac_id, 'ac-1');
      assert.equal(await store.keyLastExpiry('k1'), 1_900_000_000);
      assert.equal((await store.auditHead())?.seq, 1);
      await store.close();
    });

    it('stores nothing when an effect fails: no entry without its AC, no AC without its entry', async () => {
      const store = open();
      await store.insertAc(ac('ac-1'));
      const entries = chained(undefined, [{ type: 'authorize', ac_id: 'ac-1' }]);
      await assert.rejects(
        store.insertAuditEntries(entries, [
          { kind: 'note_key_use', kid: 'k1', exp: 1_900_000_000 },
          { kind: 'insert_ac', record: ac('ac-1') },
        ]),
        (e: unknown) => e instanceof AcConflictError,
      );
      assert.equal(await store.auditHead(), undefined);
      assert.equal(await store.keyLastExpiry('k1'), undefined);
      await assert.rejects(
        store.insertAuditEntries(entries, [{ kind: 'nope' } as never]),
        (e: unknown) => e instanceof InvalidArgumentError,
      );
      assert.equal(await store.auditHead(), undefined);
      await store.close();
    });
  });

describe('the fsync of an audit commit (file store)', () => {
  const unsynced = (store: SqliteStore): number => store.writeStats().unsynced;

  it('skips it for entries the sink holds and nothing else, never for effects or a stdout sink', async () => {
    const store = fileStore();
    const onSink = { durableOnSink: true };
    let head = await store.auditHead();
    const next = (): AuditEntry[] => chained(head, [{ type: 'deny' }]);
    const write = async (effects: never[] | undefined, options?: { durableOnSink: boolean }) => {
      const entries = next();
      await store.insertAuditEntries(entries, effects, options);
      head = entries.at(-1);
    };
    await write([], onSink);
    assert.equal(unsynced(store), 1, 'entries alone, held by the sink: NORMAL');
    await write([]);
    assert.equal(unsynced(store), 1, 'no sink to put them back from: FULL');
    const entries = next();
    await store.insertAuditEntries(entries, [{ kind: 'note_key_use', kid: 'k', exp: 1 }], onSink);
    head = entries.at(-1);
    assert.equal(unsynced(store), 1, 'with an effect (AC state): FULL');
    await store.close();
  });

  it('makes the next audit commit FULL while a DPoP jti waits for its fsync', async () => {
    const store = fileStore();
    const onSink = { durableOnSink: true };
    assert.equal(await store.rememberProof('jkt', 'jti-1', Date.parse(TS) + 60_000), true);
    assert.equal(unsynced(store), 1, 'a jti alone: NORMAL');
    const first = chained(undefined, [{ type: 'invoke_start' }]);
    await store.insertAuditEntries(first, [], onSink);
    assert.equal(unsynced(store), 1, 'the audit write before acting on the proof: FULL');
    await store.insertAuditEntries(chained(first.at(-1), [{ type: 'invoke_end' }]), [], onSink);
    assert.equal(unsynced(store), 2, 'no jti waiting: NORMAL again');
    await store.close();
  });
});
