/**
 * `insertAuditEntries`: entries the audit log chained itself (it writes them to its sink
 * before the store) are stored only when the store, re-chaining their fields after its own
 * head under the write lock, gets exactly their seqs and hashes; with their effects (an
 * issuance's AC row and key use) in the same transaction, all or nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/base/errors.js';
import type { AuditEntry, AuditEvent } from '../../src/base/audit-records.js';
import { auditFields, chainAfter } from '../../src/store/audit-row.js';
import { AcConflictError, AuditChainConflictError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AcRecord } from '../../src/store/store.js';

const TS = new Date(Date.UTC(2026, 10, 30, 12, 0, 0)).toISOString();

function chained(
  head: { seq: number; hash: string } | undefined,
  events: AuditEvent[],
): AuditEntry[] {
  return chainAfter(
    head,
    events.map((e) => auditFields(e, TS)),
  ).entries;
}

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

const isConflict = (e: unknown): boolean =>
  e instanceof AuditChainConflictError && e.code === 'audit_chain_conflict' && e.status === 409;

describe('SqliteStore.insertAuditEntries', () => {
  it('stores entries that continue its head, readable as the store appended them', async () => {
    const store = SqliteStore.memory();
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
    const store = SqliteStore.memory();
    const stale = chained(undefined, [{ type: 'deny', outcome: 'a' }]);
    await store.appendAudit({ type: 'deny', outcome: 'moved' }, TS);
    await assert.rejects(store.insertAuditEntries(stale), isConflict);
    assert.equal((await store.auditHead())?.seq, 1);
    await store.close();
  });

  it('refuses an entry whose hash does not cover its fields, and the batch with it', async () => {
    const store = SqliteStore.memory();
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
    const store = SqliteStore.memory();
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
    const store = SqliteStore.memory();
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
    const store = SqliteStore.memory();
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
