/**
 * The Store contract for what replicas share beyond ACs and the audit, on every backend
 * (the backends of test/helpers/store-contract.ts): the signing keyring (insert with a
 * conditional retirement, list, one active key when two stores rotate at once, the shape
 * checks that keep a plaintext key out), rate-limit windows (one atomic count per hit,
 * shared by two stores, deleted by cleanup once ended) and notifications.
 */
import assert from 'node:assert/strict';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/base/errors.js';
import {
  KEYS_CHANNEL,
  REVOCATIONS_CHANNEL,
  type Store,
  type StoredSigningKey,
} from '../../src/store/store.js';
import {
  type Backend,
  type Opener,
  T0,
  T0_S,
  pendingAc,
  postgresBackend,
  sqliteBackend,
} from '../helpers/store-contract.js';

const isInvalid = (e: unknown): boolean => e instanceof InvalidArgumentError;
const b64 = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** A key as the keyring stores it (random stand-ins of the right shapes). */
function signingKey(at = T0): StoredSigningKey {
  return {
    kid: b64(32),
    x: b64(32),
    created_at: at,
    version: 1,
    wrapped: `bwk1.${b64(12 + 48 + 16)}`,
    seal: `bwk1.${b64(28)}`,
  };
}

/** Subscribes to `channel`; `next` resolves with the first payload delivered after. */
export async function listening(
  store: Store,
  channel: string,
): Promise<{ next: Promise<string | undefined>; stop: () => Promise<void> }> {
  let heard: (payload: string | undefined) => void = () => undefined;
  const next = new Promise<string | undefined>((resolve) => (heard = resolve));
  const stop = await store.subscribe(channel, (payload) => heard(payload));
  return { next, stop };
}

for (const backend of [sqliteBackend(), postgresBackend()] as Backend[]) {
  describe(`Store contract, shared state: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    const fresh = async (): Promise<{ store: Store; open: Opener }> => {
      const open = await backend.fresh();
      return { store: await open(), open };
    };

    it('inserts the first key once, rotates only from the active key, drops the retired key', async () => {
      const { store } = await fresh();
      assert.deepEqual(await store.listSigningKeys(), []);
      const first = signingKey(T0);
      assert.equal(await store.insertSigningKey(first, undefined, T0), true);
      assert.equal(await store.insertSigningKey(signingKey(T0), undefined, T0), false);
      const second = signingKey(T0 + 1);
      assert.equal(await store.insertSigningKey(second, first.kid, T0 + 5), true);
      // A stale rotation (its author saw `first` active) changes nothing.
      assert.equal(await store.insertSigningKey(signingKey(T0 + 2), first.kid, T0 + 6), false);
      const { wrapped: _gone, ...retired } = first;
      assert.deepEqual(await store.listSigningKeys(), [{ ...retired, retired_at: T0 + 5 }, second]);
    });

    it('refuses a plaintext or malformed key under the wrapped name, storing nothing', async () => {
      const { store } = await fresh();
      const { privateKey } = generateKeyPairSync('ed25519');
      const der = privateKey.export({ format: 'der', type: 'pkcs8' });
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      const bad: StoredSigningKey[] = [
        {
          ...signingKey(),
          wrapped: `bwk1.${Buffer.concat([randomBytes(12), der]).toString('base64url')}`,
        },
        { ...signingKey(), wrapped: der.toString('base64url') },
        { ...signingKey(), wrapped: pem },
        { ...signingKey(), seal: pem },
        { ...signingKey(), wrapped: undefined },
        { ...signingKey(), retired_at: T0 },
        { ...signingKey(), kid: 'short' },
      ];
      for (const key of bad)
        await assert.rejects(store.insertSigningKey(key, undefined, T0), isInvalid);
      assert.deepEqual(await store.listSigningKeys(), []);
    });

    it('leaves one active key when two stores rotate at once', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const first = signingKey();
      await store.insertSigningKey(first, undefined, T0);
      const wins = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? store : other).insertSigningKey(signingKey(T0 + 1), first.kid, T0 + 1),
        ),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      const keys = await other.listSigningKeys();
      assert.equal(keys.length, 2);
      assert.equal(keys.filter((k) => k.retired_at === undefined).length, 1);
    });

    it('announces a rotation on the keys channel, and delivers notify to subscribers', async () => {
      const { store } = await fresh();
      const key = signingKey();
      const keys = await listening(store, KEYS_CHANNEL);
      await store.insertSigningKey(key, undefined, T0);
      assert.equal(await keys.next, key.kid);
      await keys.stop();
      const ping = await listening(store, 'bastion_test');
      await store.notify('bastion_test', 'hello');
      assert.equal(await ping.next, 'hello');
      await ping.stop();
      await assert.rejects(store.notify('Bad-Channel;', 'x'), isInvalid);
      await assert.rejects(store.notify('bastion_test', '-----BEGIN PRIVATE KEY-----'), isInvalid);
    });

    it('announces a revocation, by AC id only, and nothing when it was already revoked', async () => {
      const { store } = await fresh();
      const ac = pendingAc();
      await store.insertAc(ac);
      const revocations = await listening(store, REVOCATIONS_CHANNEL);
      assert.equal(await store.revokeAc(ac.ac_id, 'did:key:admin', T0, T0_S + 60), true);
      assert.equal(await revocations.next, ac.ac_id);
      await revocations.stop();
      const again = await listening(store, REVOCATIONS_CHANNEL);
      assert.equal(await store.revokeAc(ac.ac_id, 'did:key:admin', T0, T0_S + 60), false);
      await store.notify(REVOCATIONS_CHANNEL, 'marker');
      assert.equal(await again.next, 'marker', 'the refused revocation announced nothing');
      await again.stop();
    });

    it('counts hits per key and window, never past the limit, shared by two stores', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const counts = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? store : other).hitRateLimit('did:key:a', T0, 5),
        ),
      );
      assert.deepEqual(
        counts.filter((n) => n <= 5).sort((a, b) => a - b),
        [1, 2, 3, 4, 5],
      );
      assert.ok(counts.filter((n) => n > 5).every((n) => n === 6));
      assert.equal(await store.hitRateLimit('did:key:b', T0, 5), 1, 'another key');
      assert.equal(await store.hitRateLimit('did:key:a', T0 + 60_000, 5), 1, 'the next window');
      for (const [key, start, limit] of [
        ['', T0, 5],
        ['did:key:a', -1, 5],
        ['did:key:a', T0, 0],
      ] as const) {
        await assert.rejects(store.hitRateLimit(key, start, limit), isInvalid);
      }
    });

    it('deletes a window at cleanup once it has ended, not before', async () => {
      const { store } = await fresh();
      assert.equal(await store.hitRateLimit('did:key:a', T0, 5), 1);
      await store.cleanup(T0 + 59_999);
      assert.equal(await store.hitRateLimit('did:key:a', T0, 5), 2, 'kept while running');
      await store.cleanup(T0 + 60_000);
      assert.equal(await store.hitRateLimit('did:key:a', T0, 5), 1, 'deleted once ended');
    });
  });
}
