/**
 * The Store contract, run against every backend (SQLite on a file, PostgreSQL on a private
 * cluster): AC round trips and conditional transitions, approvals, DPoP replay, key use,
 * cleanup, the audit chain (appends, batches, caller-chained entries with their effects,
 * refusals), listing, batched iteration, unfinished invocations, checkpoints, close, and
 * two stores on one database racing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/base/errors.js';
import { GENESIS } from '../../src/base/audit-chain.js';
import type { AuditEntry, AuditEvent } from '../../src/base/audit-records.js';
import {
  AcConflictError,
  AuditChainConflictError,
  StoreClosedError,
} from '../../src/store/errors.js';
import type { AcRecord, Store } from '../../src/store/store.js';
import {
  type Backend,
  type Opener,
  T0,
  T0_S,
  TS,
  assertChain,
  chained,
  claimsFor,
  collect,
  pendingAc,
  postgresBackend,
  sqliteBackend,
} from '../helpers/store-contract.js';

const isInvalid = (e: unknown): boolean => e instanceof InvalidArgumentError;
const isConflict = (e: unknown): boolean =>
  e instanceof AuditChainConflictError && e.code === 'audit_chain_conflict';

async function withActive(store: Store, exp: number): Promise<AcRecord> {
  const ac = pendingAc();
  await store.insertAc(ac);
  assert.equal(await store.activateAc(ac.ac_id, claimsFor(ac, exp), exp, T0), true);
  return ac;
}

for (const backend of [sqliteBackend(), postgresBackend()] as Backend[]) {
  describe(`Store contract: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    /** A store on a fresh database (and the opener, for a second store on it). */
    const fresh = async (): Promise<{ store: Store; open: Opener }> => {
      const open = await backend.fresh();
      return { store: await open(), open };
    };

    it('round-trips ACs: optional fields absent, every field kept', async () => {
      const { store } = await fresh();
      const pending = pendingAc();
      await store.insertAc(pending);
      assert.deepEqual(await store.getAc(pending.ac_id), pending);
      const full = pendingAc({
        state: 'active',
        justification: 'incident #42',
        act: { sub: 'did:key:z6MkAgent' },
        approvals_required: 0,
        claims: { sub: 'did:key:z6MkPrincipal', nested: { list: [1, 'two'] } },
        expires_at: T0_S + 300,
        activated_at: T0,
        requested_at: Number.MAX_SAFE_INTEGER,
      });
      await store.insertAc(full);
      assert.deepEqual(await store.getAc(full.ac_id), full);
      assert.equal(await store.getAc('ac-none'), undefined);
    });

    it('throws AcConflictError on a duplicate ac_id and keeps the first record', async () => {
      const { store } = await fresh();
      const first = pendingAc();
      await store.insertAc(first);
      const err = await store.insertAc({ ...first, target: 'other' }).catch((e: unknown) => e);
      assert.ok(err instanceof AcConflictError);
      assert.equal(err.code, 'ac_conflict');
      assert.equal((await store.getAc(first.ac_id))?.target, first.target);
    });

    it('refuses records the schema forbids, without quoting them', async () => {
      const { store } = await fresh();
      const marker = 'MARKER-3f9a';
      const bad: AcRecord[] = [
        // An active AC without claims or expiry would never expire: the schema's check.
        pendingAc({ state: 'active', target: marker }),
        pendingAc({ approvals_required: -1, target: marker }),
        pendingAc({ state: 'revoked', target: marker }),
        pendingAc({ justification: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln', target: marker }),
      ];
      for (const record of bad) {
        const err = await store.insertAc(record).catch((e: unknown) => e);
        assert.ok(err instanceof InvalidArgumentError, record.state);
        assert.ok(!err.message.includes(marker));
        assert.equal(await store.getAc(record.ac_id), undefined);
      }
    });

    it('counts an approver once, only while the AC is pending', async () => {
      const { store } = await fresh();
      const ac = pendingAc();
      await store.insertAc(ac);
      assert.equal(await store.addApproval(ac.ac_id, 'did:key:b', T0 + 2), true);
      assert.equal(await store.addApproval(ac.ac_id, 'did:key:b', T0 + 3), false);
      assert.equal(await store.addApproval(ac.ac_id, 'did:key:a', T0 + 1), true);
      assert.deepEqual(await store.listApprovals(ac.ac_id), [
        { approver_did: 'did:key:a', approved_at: T0 + 1 },
        { approver_did: 'did:key:b', approved_at: T0 + 2 },
      ]);
      const active = await withActive(store, T0_S + 60);
      const revoked = pendingAc();
      await store.insertAc(revoked);
      await store.revokeAc(revoked.ac_id, 'did:key:admin', T0, T0_S + 60);
      for (const id of [active.ac_id, revoked.ac_id, 'ac-none']) {
        assert.equal(await store.addApproval(id, 'did:key:c', T0), false, id);
        assert.deepEqual(await store.listApprovals(id), []);
      }
    });

    it('denies a pending AC once, for good; keeps decision comments, refusing secret ones', async () => {
      const { store } = await fresh();
      const ac = pendingAc({ ac_id: 'deny-1', accord: 'ops-ssh' });
      await store.insertAc(ac);
      assert.equal(await store.addApproval(ac.ac_id, 'did:key:a', T0 + 1, 'looks fine'), true);
      await assert.rejects(
        store.addApproval(ac.ac_id, 'did:key:b', T0 + 2, 'key: -----BEGIN PRIVATE KEY-----'),
        isInvalid,
      );
      await assert.rejects(
        store.denyAc(
          ac.ac_id,
          'did:key:b',
          T0 + 2,
          'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXN0dWZm',
        ),
        isInvalid,
      );
      assert.equal(
        await store.denyAc(ac.ac_id, 'did:key:b', T0 + 3, 'not during the freeze'),
        true,
      );
      assert.equal(await store.denyAc(ac.ac_id, 'did:key:a', T0 + 4), false, 'denied once');
      const denied = await store.getAc(ac.ac_id);
      assert.equal(denied?.state, 'pending_approval');
      assert.equal(denied?.denied_at, T0 + 3);
      assert.equal(denied?.denied_by, 'did:key:b');
      assert.equal(denied?.denial_comment, 'not during the freeze');
      // Denied is terminal: no approval, no activation, no longer waiting for anyone.
      assert.equal(await store.addApproval(ac.ac_id, 'did:key:c', T0 + 5), false);
      assert.equal(
        await store.activateAc(ac.ac_id, claimsFor(ac, T0_S + 60), T0_S + 60, T0),
        false,
      );
      assert.equal((await store.getAc(ac.ac_id))?.state, 'pending_approval');
      assert.equal(await store.countAcs('pending_approval'), 0);
      const undecided = { state: 'pending_approval', undecidedBy: 'did:key:z6MkCarol' } as const;
      assert.deepEqual(await store.listAcs(undecided), []);
      assert.deepEqual(await store.listApprovals(ac.ac_id), [
        { approver_did: 'did:key:a', approved_at: T0 + 1, comment: 'looks fine' },
      ]);
      // Only a pending AC can be denied.
      const active = await withActive(store, T0_S + 60);
      assert.equal(await store.denyAc(active.ac_id, 'did:key:b', T0), false);
      assert.equal(await store.denyAc('ac-none', 'did:key:b', T0), false);
      assert.equal((await store.getAc(active.ac_id))?.denied_at, undefined);
    });

    it('activates only from pending, once; refuses secret-shaped claims', async () => {
      const { store } = await fresh();
      const ac = pendingAc();
      await store.insertAc(ac);
      for (const claims of [
        { access_token: 'x' },
        { nested: { v: '-----BEGIN PRIVATE KEY-----' } },
      ]) {
        await assert.rejects(store.activateAc(ac.ac_id, claims, T0_S + 60, T0), isInvalid);
      }
      assert.equal((await store.getAc(ac.ac_id))?.state, 'pending_approval');
      assert.equal(await store.activateAc(ac.ac_id, claimsFor(ac, T0_S + 60), T0_S + 60, T0), true);
      assert.equal(
        await store.activateAc(ac.ac_id, claimsFor(ac, T0_S + 99), T0_S + 99, T0),
        false,
      );
      const got = await store.getAc(ac.ac_id);
      assert.equal(got?.state, 'active');
      assert.equal(got?.expires_at, T0_S + 60);
      const revoked = pendingAc();
      await store.insertAc(revoked);
      await store.revokeAc(revoked.ac_id, 'did:key:admin', T0, T0_S);
      assert.equal(await store.activateAc(revoked.ac_id, {}, T0_S + 60, T0), false);
      assert.equal(await store.activateAc('ac-none', {}, T0_S + 60, T0), false);
    });

    it('revokes from pending or active once, recording who and when', async () => {
      const { store } = await fresh();
      const active = await withActive(store, T0_S + 60);
      assert.equal(await store.isRevoked(active.ac_id), false);
      assert.equal(await store.revokeAc(active.ac_id, 'did:key:admin', T0 + 5, T0_S + 60), true);
      assert.equal(await store.revokeAc(active.ac_id, 'did:key:other', T0 + 6, T0_S + 60), false);
      assert.equal(await store.isRevoked(active.ac_id), true);
      const got = await store.getAc(active.ac_id);
      assert.equal(got?.state, 'revoked');
      assert.equal(got?.revoked_by, 'did:key:admin');
      assert.equal(got?.revoked_at, T0 + 5);
      assert.equal(await store.revokeAc('ac-none', 'did:key:admin', T0, T0_S), false);
      assert.equal(await store.isRevoked('ac-none'), false);
    });

    it('detects a replayed DPoP jti until cleanup removes it; keeps the latest key use', async () => {
      const { store } = await fresh();
      assert.equal(await store.rememberProof('jkt', 'jti-1', T0 - 1), true);
      assert.equal(await store.rememberProof('jkt', 'jti-1', T0 + 60_000), false);
      assert.equal(await store.rememberProof('jkt2', 'jti-1', T0 + 60_000), true);
      assert.equal(await store.rememberProof('jkt', 'jti-2', T0), true);
      assert.deepEqual(await store.cleanup(T0), { proofs: 1, revocations: 0 });
      assert.equal(await store.rememberProof('jkt', 'jti-1', T0 + 60_000), true);
      assert.equal(await store.rememberProof('jkt', 'jti-2', T0 + 60_000), false);
      assert.equal(await store.keyLastExpiry('k1'), undefined);
      await store.noteKeyUse('k1', T0_S + 100);
      await store.noteKeyUse('k1', T0_S + 50);
      assert.equal(await store.keyLastExpiry('k1'), T0_S + 100);
      await store.noteKeyUse('k1', T0_S + 200);
      assert.equal(await store.keyLastExpiry('k1'), T0_S + 200);
    });

    it('cleans up revocations only after their AC has expired', async () => {
      const { store } = await fresh();
      const live = await withActive(store, T0_S + 600);
      // The revoker's expiry is earlier than the AC's: the AC's own expiry wins.
      assert.equal(await store.revokeAc(live.ac_id, 'did:key:admin', T0, T0_S), true);
      assert.deepEqual(await store.cleanup(T0 + 600_000), { proofs: 0, revocations: 0 });
      assert.deepEqual(await store.cleanup(T0 + 600_001), { proofs: 0, revocations: 1 });
      assert.equal(await store.isRevoked(live.ac_id), true, 'the AC row stays revoked');
      const pending = pendingAc();
      await store.insertAc(pending);
      await store.revokeAc(pending.ac_id, 'did:key:admin', T0, T0_S + 60);
      assert.deepEqual(await store.cleanup(T0 + 60_000), { proofs: 0, revocations: 0 });
      assert.deepEqual(await store.cleanup(T0 + 60_001), { proofs: 0, revocations: 1 });
    });

    it('lists ACs by party, state, accord, undecided approver and time, newest first', async () => {
      const { store } = await fresh();
      const alice = { did: 'did:key:z6MkAlice', jkt: 'alice-jkt' };
      const agent = { did: 'did:key:z6MkAgent', jkt: 'agent-jkt' };
      const ac = (n: number, o: Partial<AcRecord>): AcRecord =>
        pendingAc({ ac_id: `list-${n}`, requested_at: T0 + n, ...o });
      const own = ac(1, { principal_did: alice.did, cnf_jkt: alice.jkt });
      const delegated = ac(2, { principal_did: alice.did, cnf_jkt: agent.jkt, accord: 'b' });
      const others = ac(3, { principal_did: 'did:key:z6MkBob', cnf_jkt: 'bob-jkt', accord: 'b' });
      const approved = ac(4, { principal_did: 'did:key:z6MkBob', cnf_jkt: 'bob-jkt' });
      const active = ac(5, { principal_did: 'did:key:z6MkBob', cnf_jkt: 'bob-jkt' });
      for (const record of [own, delegated, others, approved, active]) await store.insertAc(record);
      assert.equal(await store.addApproval(approved.ac_id, 'did:key:z6MkCarol', T0), true);
      assert.equal(
        await store.activateAc('list-5', claimsFor(active, T0_S + 300), T0_S + 300, T0),
        true,
      );
      const ids = async (filter: Parameters<Store['listAcs']>[0]): Promise<string[]> =>
        (await store.listAcs(filter)).map((r) => r.ac_id);

      // A principal's own requests and the ACs bound to a key, each whole.
      assert.deepEqual(await store.listAcs({ party: alice }), [delegated, own]);
      assert.deepEqual(await ids({ party: agent }), ['list-2']);
      assert.deepEqual(await ids({ party: { did: 'did:key:z6MkNobody', jkt: 'x' } }), []);
      // What an approver still has to decide: pending, under its accords, neither its own
      // request nor already approved by it.
      const pending = { state: 'pending_approval', accords: ['ops-ssh', 'b'] } as const;
      assert.deepEqual(await ids({ ...pending, undecidedBy: 'did:key:z6MkCarol' }), [
        'list-3',
        'list-2',
        'list-1',
      ]);
      assert.deepEqual(await ids({ ...pending, undecidedBy: alice.did }), ['list-4', 'list-3']);
      assert.deepEqual(await ids({ ...pending, accords: ['b'] }), ['list-3', 'list-2']);
      assert.deepEqual(await ids({ ...pending, accords: [] }), []);
      assert.deepEqual(await ids({ ...pending, requestedAfter: T0 + 2 }), ['list-4', 'list-3']);
      assert.deepEqual(await ids({ state: 'active' }), ['list-5']);
      assert.deepEqual(await ids({ limit: 2 }), ['list-5', 'list-4']);
      for (const filter of [{ limit: 0 }, { state: 'expired' }, { party: { did: '', jkt: 'x' } }])
        await assert.rejects(store.listAcs(filter as never), isInvalid, JSON.stringify(filter));
    });

    it('counts the ACs in a state (the metrics: approvals pending)', async () => {
      const { store } = await fresh();
      assert.equal(await store.countAcs('pending_approval'), 0);
      for (const n of [1, 2, 3]) await store.insertAc(pendingAc({ ac_id: `count-${n}` }));
      const active = await withActive(store, T0_S + 60);
      assert.equal(await store.revokeAc('count-3', 'did:key:admin', T0, T0_S + 60), true);
      assert.equal(await store.countAcs('pending_approval'), 2);
      assert.equal(await store.countAcs('active'), 1, active.ac_id);
      assert.equal(await store.countAcs('revoked'), 1);
      await assert.rejects(store.countAcs('expired' as never), isInvalid);
    });

    it('chains appends and batches, reading them back exactly', async () => {
      const { store } = await fresh();
      assert.equal(await store.auditHead(), undefined);
      const first = await store.appendAudit({ type: 'authorize', actor: 'did:key:alice' }, TS);
      assert.deepEqual(first, {
        seq: 1,
        ts: TS,
        type: 'authorize',
        actor: 'did:key:alice',
        prev: GENESIS,
        hash: first.hash,
      });
      const batch = await store.appendAuditBatch(
        [
          {
            type: 'invoke_end',
            principal: 'did:key:bob',
            invocation_id: 'inv-1',
            outcome: 'ok',
            detail: { z: 1, a: { y: [1, 'two', null], b: true }, text: 'é\u2028' },
          },
          { type: 'deny' },
        ],
        TS,
      );
      assert.deepEqual(
        batch.map((e) => e.seq),
        [2, 3],
      );
      const listed = await store.listAudit({});
      assert.deepEqual(listed, [first, ...batch]);
      assertChain(listed);
      assert.deepEqual(await store.auditHead(), { seq: 3, hash: batch[1]?.hash });
    });

    it('refuses a secret-shaped detail or field and bad events, storing nothing', async () => {
      const { store } = await fresh();
      const bad: AuditEvent[] = [
        { type: 'deny', detail: { password: 'hunter2' } },
        { type: 'deny', detail: { k: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' } },
        { type: 'deny', target: '-----BEGIN OPENSSH PRIVATE KEY-----' },
        { type: 'nope' } as never,
        { type: 'deny', actor: '' },
      ];
      for (const event of bad) {
        await assert.rejects(store.appendAudit(event, TS), isInvalid);
        await assert.rejects(store.appendAuditBatch([{ type: 'deny' }, event], TS), isInvalid);
      }
      await assert.rejects(store.appendAudit({ type: 'deny' }, 'yesterday'), isInvalid);
      assert.equal(await store.auditHead(), undefined);
    });

    it('stores caller-chained entries that follow its head, with their effects', async () => {
      const { store } = await fresh();
      const first = await store.appendAudit({ type: 'authorize', actor: 'did:key:a' }, TS);
      const next = chained(first, [
        { type: 'authorize', ac_id: 'ac-eff' },
        { type: 'invoke_start', invocation_id: 'i1' },
      ]);
      await store.insertAuditEntries(next, [
        { kind: 'insert_ac', record: pendingAc({ ac_id: 'ac-eff' }) },
        { kind: 'note_key_use', kid: 'k1', exp: T0_S + 300 },
      ]);
      assert.deepEqual(await store.listAudit({}), [first, ...next]);
      assert.equal((await store.getAc('ac-eff'))?.ac_id, 'ac-eff');
      assert.equal(await store.keyLastExpiry('k1'), T0_S + 300);
      const after = await store.appendAudit({ type: 'deny' }, TS);
      assert.equal(after.prev, next[1]?.hash);
    });

    it('refuses stale, altered or secret entries and failing effects, all or nothing', async () => {
      const { store } = await fresh();
      const stale = chained(undefined, [{ type: 'deny', outcome: 'a' }]);
      const head = await store.appendAudit({ type: 'deny', outcome: 'moved' }, TS);
      await assert.rejects(store.insertAuditEntries(stale), isConflict);
      const [a, b] = chained(head, [
        { type: 'deny', outcome: 'a' },
        { type: 'deny', outcome: 'b' },
      ]) as [AuditEntry, AuditEntry];
      await assert.rejects(store.insertAuditEntries([a, { ...b, outcome: 'edited' }]), isConflict);
      await assert.rejects(store.insertAuditEntries([a, { ...b, seq: 4 }]), isConflict);
      await assert.rejects(
        store.insertAuditEntries([{ ...a, detail: { secret: 'x' } }]),
        isInvalid,
      );
      await store.insertAc(pendingAc({ ac_id: 'ac-dup' }));
      await assert.rejects(
        store.insertAuditEntries(
          [a, b],
          [
            { kind: 'note_key_use', kid: 'k2', exp: 1 },
            { kind: 'insert_ac', record: pendingAc({ ac_id: 'ac-dup' }) },
          ],
        ),
        (e: unknown) => e instanceof AcConflictError,
      );
      await assert.rejects(store.insertAuditEntries([a], [{ kind: 'nope' } as never]), isInvalid);
      assert.deepEqual(await store.auditHead(), { seq: 1, hash: head.hash });
      assert.equal(await store.keyLastExpiry('k2'), undefined);
      await store.insertAuditEntries([a, b]);
      assert.equal((await store.auditHead())?.seq, 3);
    });

    it('filters by type, ac_id, DID, time and seq, with a bounded limit', async () => {
      const { store } = await fresh();
      const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
      await store.appendAudit({ type: 'authorize', actor: 'did:key:a', ac_id: 'ac-1' }, at(0));
      await store.appendAudit(
        { type: 'approve', actor: 'did:key:b', principal: 'did:key:a', ac_id: 'ac-1' },
        at(1),
      );
      await store.appendAudit({ type: 'authorize', actor: 'did:key:c', ac_id: 'ac-2' }, at(2));
      await store.appendAudit({ type: 'revoke', actor: 'did:key:b', ac_id: 'ac-2' }, at(3));
      const seqs = async (filter: Parameters<Store['listAudit']>[0]): Promise<number[]> =>
        (await store.listAudit(filter)).map((e) => e.seq);
      assert.deepEqual(await seqs({ type: 'authorize' }), [1, 3]);
      assert.deepEqual(await seqs({ ac_id: 'ac-2' }), [3, 4]);
      assert.deepEqual(await seqs({ did: 'did:key:a' }), [1, 2]);
      assert.deepEqual(await seqs({ did: 'did:key:b' }), [2, 4]);
      assert.deepEqual(await seqs({ since: at(2) }), [3, 4]);
      assert.deepEqual(await seqs({ since: '2026-11-28T13:00:01.500+01:00' }), [3, 4]);
      // Past year 9999: nothing, which needs byte order on the time column.
      assert.deepEqual(await seqs({ since: '+010000-01-01T00:00:00.000Z' }), []);
      assert.deepEqual(await seqs({ after: 1, limit: 2 }), [2, 3]);
      assert.deepEqual(
        await seqs({ type: 'authorize', ac_id: 'ac-2', did: 'did:key:c', since: at(1) }),
        [3],
      );
      for (const filter of [{ limit: 0 }, { after: -1 }, { type: 'nope' }, { since: 'x' }]) {
        await assert.rejects(store.listAudit(filter as never), isInvalid, JSON.stringify(filter));
      }
    });

    it('lists 100 by default, at most 1000, and iterates everything in batches', async () => {
      const { store } = await fresh();
      const events = Array.from({ length: 1203 }, (_, i) => ({ type: 'deny', outcome: `n${i}` }));
      await store.appendAuditBatch(events as AuditEvent[], TS);
      assert.equal((await store.listAudit({})).length, 100);
      assert.equal((await store.listAudit({ limit: 5000 })).length, 1000);
      const all = await collect(store.iterateAudit());
      assert.equal(all.length, 1203);
      assertChain(all);
      assert.deepEqual(
        (await collect(store.iterateAudit(1000))).map((e) => e.seq),
        Array.from({ length: 203 }, (_, i) => 1001 + i),
      );
      await assert.rejects(collect(store.iterateAudit(-1)), isInvalid);
    });

    it('lists invoke_start entries without an end or an interruption', async () => {
      const { store } = await fresh();
      const start = (id: string): AuditEvent => ({ type: 'invoke_start', invocation_id: id });
      await store.appendAudit(start('i1'), TS);
      await store.appendAudit(start('i2'), TS);
      await store.appendAudit(start('i3'), TS);
      await store.appendAudit({ type: 'invoke_end', invocation_id: 'i1' }, TS);
      await store.appendAudit({ type: 'invoke_interrupted', invocation_id: 'i3' }, TS);
      assert.deepEqual(
        (await store.unfinishedInvocations()).map((e) => e.invocation_id),
        ['i2'],
      );
    });

    it('stores checkpoints of real entries only, the first per seq, and returns the latest', async () => {
      const { store } = await fresh();
      assert.equal(await store.latestCheckpoint(), undefined);
      const [one, two] = await store.appendAuditBatch([{ type: 'deny' }, { type: 'deny' }], TS);
      const cp = (e: AuditEntry | undefined, jws: string) => ({
        seq: e?.seq ?? 0,
        hash: e?.hash ?? '',
        ts: TS,
        jws,
      });
      await store.insertCheckpoint(cp(one, 'jws-1'));
      await store.insertCheckpoint(cp(one, 'jws-1b'));
      assert.deepEqual(await store.latestCheckpoint(), cp(one, 'jws-1'));
      await assert.rejects(
        store.insertCheckpoint({ ...cp(two, 'x'), hash: one?.hash ?? '' }),
        isInvalid,
      );
      await assert.rejects(store.insertCheckpoint({ ...cp(two, 'x'), seq: 9 }), isInvalid);
      await assert.rejects(store.insertCheckpoint({ ...cp(two, 'x'), ts: 'now' }), isInvalid);
      await store.insertCheckpoint(cp(two, 'jws-2'));
      assert.deepEqual(await store.latestCheckpoint(), cp(two, 'jws-2'));
    });

    it('lets exactly one of two stores win a race on one AC (revocation, proof, activation)', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const ac = pendingAc();
      await store.insertAc(ac);
      const wins = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? store : other).revokeAc(ac.ac_id, `did:key:r${i}`, T0, T0_S),
        ),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      const proofs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).rememberProof('k', 'j', T0)),
      );
      assert.equal(proofs.filter(Boolean).length, 1);
      const pending = pendingAc();
      await store.insertAc(pending);
      const activations = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? store : other).activateAc(
            pending.ac_id,
            claimsFor(pending, T0_S + 60),
            T0_S + 60,
            T0,
          ),
        ),
      );
      assert.equal(activations.filter(Boolean).length, 1);
    });

    it('keeps one unbroken chain when two stores append concurrently', async () => {
      const { store, open } = await fresh();
      const other = await open();
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          (i % 2 ? store : other).appendAudit({ type: 'deny', outcome: `o${i}` }, TS),
        ),
      );
      const all = await collect(other.iterateAudit());
      assert.equal(all.length, 100);
      assertChain(all);
      assert.equal(new Set(all.map((e) => e.outcome)).size, 100);
    });

    it('rejects every call after close; close is idempotent', async () => {
      const { store } = await fresh();
      await store.close();
      await store.close();
      const isClosed = (e: unknown): boolean =>
        e instanceof StoreClosedError && e.code === 'store_closed';
      await assert.rejects(store.getAc('ac-1'), isClosed);
      await assert.rejects(store.insertAc(pendingAc()), isClosed);
      await assert.rejects(store.appendAudit({ type: 'deny' }, TS), isClosed);
      await assert.rejects(store.auditHead(), isClosed);
      await assert.rejects(collect(store.iterateAudit()), isClosed);
    });
  });
}
