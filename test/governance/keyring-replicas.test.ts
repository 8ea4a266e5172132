/**
 * One signing identity for two replicas: two keyrings, each with its own PostgresStore
 * (its own pool and listener) on one real PostgreSQL database, each behind a
 * GovernanceService, as two brokers would be. An AC issued by one verifies on the other,
 * both serve one JWKS, a rotation on one reaches the other by NOTIFY (waited for as an
 * event) and still verifies the old key's ACs, and the verified-AC cache forgets a retired
 * key's entries. Failing closed: a wrong KEK, and each kind of row tampering, refuse to
 * open. A database dump holds neither a private key nor the KEK (scanned with a planted
 * control of each kind found in the same pass).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { ManualClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import { Secret } from '../../src/credentials/secret.js';
import { verifyAc } from '../../src/governance/ac.js';
import { VerifiedAcCache } from '../../src/governance/ac-cache.js';
import type { Accord } from '../../src/governance/accords.js';
import { generatePrincipalKey, thumbprint } from '../../src/governance/did-key.js';
import type { VerifiedProof } from '../../src/governance/dpop.js';
import { LocalKek } from '../../src/governance/key-wrap.js';
import { BrokerKeyring, type KeyringChange } from '../../src/governance/keyring.js';
import { Policy } from '../../src/governance/policy.js';
import { GovernanceService } from '../../src/governance/service.js';
import { effectCalls } from '../../src/store/effects.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { KEYS_CHANNEL, type Store } from '../../src/store/store.js';
import { PG_BIN, type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';
import { findIn, needle } from '../helpers/scan.js';

const run = promisify(execFile);
const TARGET = 'db1.internal.test';
const alice = generatePrincipalKey();
const accord: Accord = {
  id: 'ops',
  principals: [alice.did],
  connectors: ['ssh'],
  targets: [TARGET],
  capabilities: ['read', 'exec'],
  max_duration_seconds: 900,
  approvals: { required: 0, approvers: [] },
  admins: [],
};
const unwrapFailed = (err: unknown): boolean =>
  (err as { code?: unknown }).code === 'signing_key_unwrap_failed';

interface Replica {
  store: Store;
  keyring: BrokerKeyring;
  service: GovernanceService;
  /** Full AC verifications (signature included) this replica's cache made. */
  verified(): number;
}

describe(
  'one signing identity for two replicas on PostgreSQL',
  { skip: skipWithoutPostgres() },
  () => {
    let cluster: PgCluster;
    const clock = new ManualClock(Date.now());
    const kekBytes = randomBytes(32);
    const stores: Store[] = [];
    let caller: VerifiedProof;

    before(async () => {
      cluster = await startPostgres();
      caller = {
        did: alice.did,
        jkt: await thumbprint(alice.publicJwk),
        jwk: alice.publicJwk,
        jti: 'p',
      };
    });
    after(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      await cluster?.stop();
    });

    const kek = (bytes: Buffer = kekBytes): LocalKek => new LocalKek(Secret.copyOf(bytes));
    const open = async (url: string): Promise<Store> => {
      const store = await PostgresStore.open({ url });
      stores.push(store);
      return store;
    };

    async function replica(url: string): Promise<Replica> {
      const store = await open(url);
      const keyring = await BrokerKeyring.openDatabase(store, kek(), clock.now());
      let verified = 0;
      const service = new GovernanceService({
        store,
        keyring,
        clock,
        logger: silentLogger,
        // No trail here; the issuance's own writes (its AC row, its key's use) still land.
        audit: {
          append: async (_event, effects) => {
            for (const call of effectCalls(effects ?? [], store)) await call();
          },
        },
        settings: {
          issuer: 'urn:bastion:broker',
          audience: 'urn:bastion:connectors',
          skewMs: 30_000,
          policy: new Policy(new Map([[accord.id, accord]]), []),
          approvalTtlMs: 60_000,
        },
        acCache: new VerifiedAcCache({
          verify: (token, options) => {
            verified += 1;
            return verifyAc(token, options);
          },
        }),
      });
      return { store, keyring, service, verified: () => verified };
    }

    async function issue(r: Replica): Promise<string> {
      const result = await r.service.authorize(caller, {
        accord: 'ops',
        connector: 'ssh',
        target: TARGET,
        capabilities: ['exec'],
        duration_seconds: 600,
      });
      assert.equal(result.status, 'active');
      return result.ac;
    }

    /** Resolves with the first change of `keyring` that makes a key other than `from` active. */
    function nextActive(keyring: BrokerKeyring, from: string): Promise<KeyringChange> {
      return new Promise((resolve) => {
        const stop = keyring.onChange((change) => {
          if (change.active === from) return;
          stop();
          resolve(change);
        });
      });
    }

    it('verifies an AC signed by one replica on the other; both serve the same JWKS', async () => {
      const url = await cluster.createDatabase();
      // Starting together, they make one key.
      const [a, b] = await Promise.all([replica(url), replica(url)]);
      assert.equal(a.keyring.activeKid, b.keyring.activeKid);
      const token = await issue(a);
      assert.equal((await b.service.verify(token)).claims.sub, alice.did);
      assert.deepEqual(await b.service.jwks(), await a.service.jwks());
      assert.equal((await a.service.jwks()).keys.length, 1);
    });

    it('rotates on one replica; the other signs with the new key after the NOTIFY, still verifies the old', async () => {
      const url = await cluster.createDatabase();
      const a = await replica(url);
      const b = await replica(url);
      const failures: unknown[] = [];
      await b.keyring.follow((err) => failures.push(err));
      const old = a.keyring.activeKid;
      const oldToken = await issue(a);
      await b.service.verify(oldToken);
      await b.service.verify(oldToken);
      assert.equal(b.verified(), 1, 'cached on B');

      const heard = nextActive(b.keyring, old);
      const rotated = await a.keyring.rotateKeys(clock.now());
      assert.deepEqual(rotated.retired, old);
      const change = await heard;
      assert.equal(change.active, rotated.active);
      assert.deepEqual(change.retired, [old]);
      assert.equal(b.keyring.signer.kid, rotated.active);

      const newToken = await issue(b);
      assert.equal(decodeProtectedHeader(newToken).kid, rotated.active);
      assert.equal((await a.service.verify(newToken)).kid, rotated.active);
      // The old key's AC still verifies on both until it expires; B verified it afresh, as
      // the retirement dropped its cached entry.
      assert.equal((await b.service.verify(oldToken)).kid, old);
      assert.equal(b.verified(), 2, 'the retired key left the cache');
      assert.equal((await a.service.verify(oldToken)).kid, old);
      const jwks = await b.service.jwks();
      assert.deepEqual(jwks, await a.service.jwks());
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [old, rotated.active].sort());
      assert.deepEqual(failures, []);
    });

    it('leaves one active key when both replicas rotate at once', async () => {
      const url = await cluster.createDatabase();
      const a = await replica(url);
      const b = await replica(url);
      const [ra, rb] = await Promise.all([a.keyring.rotateKeys(), b.keyring.rotateKeys()]);
      assert.equal(ra.active, rb.active);
      const keys = await a.store.listSigningKeys();
      assert.equal(keys.filter((k) => k.retired_at === undefined).length, 1);
      assert.equal(keys.length, 2);
    });

    it('hears again after its listening connection is killed, and re-reads the keyring', async () => {
      const url = await cluster.createDatabase();
      const a = await replica(url);
      const b = await replica(url);
      const payloads: (string | undefined)[] = [];
      let reconnected: () => void = () => undefined;
      const back = new Promise<void>((resolve) => (reconnected = resolve));
      await b.store.subscribe(KEYS_CHANNEL, (payload) => {
        payloads.push(payload);
        if (payload === undefined) reconnected();
      });
      await b.keyring.follow(() => undefined);
      const admin = await cluster.admin('postgres');
      try {
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'bastion-listen' AND datname = $1`,
          [new URL(url).pathname.slice(1)],
        );
        assert.ok((rowCount ?? 0) >= 1);
      } finally {
        await admin.end();
      }
      await back;
      const heard = nextActive(b.keyring, a.keyring.activeKid);
      const { active } = await a.keyring.rotateKeys();
      assert.equal((await heard).active, active);
      assert.ok(payloads.includes(active), 'the NOTIFY reached the new connection');
    });

    it('fails closed with a wrong KEK', async () => {
      const url = await cluster.createDatabase();
      await replica(url);
      const store = await open(url);
      await assert.rejects(BrokerKeyring.openDatabase(store, kek(randomBytes(32))), unwrapFailed);
    });

    it('refuses a row whose ciphertext, kid, version or public key was altered, or a planted key', async () => {
      const tamperings: Record<string, string> = {
        ciphertext: `UPDATE signing_keys SET wrapped = overlay(wrapped placing
        (CASE WHEN substr(wrapped, 20, 1) = 'A' THEN 'B' ELSE 'A' END) from 20 for 1)`,
        kid: `UPDATE signing_keys SET kid = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'`,
        version: 'UPDATE signing_keys SET version = 2',
        'public key': `UPDATE signing_keys SET x = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'`,
      };
      for (const [what, sql] of Object.entries(tamperings)) {
        const url = await cluster.createDatabase();
        await replica(url);
        const admin = await cluster.admin(new URL(url).pathname.slice(1));
        try {
          await admin.query(sql);
        } finally {
          await admin.end();
        }
        await assert.rejects(
          BrokerKeyring.openDatabase(await open(url), kek()),
          unwrapFailed,
          what,
        );
      }
      // A verification key planted by whoever can write the database, sealed under another KEK.
      const url = await cluster.createDatabase();
      const a = await replica(url);
      const intruder = await open(url);
      await BrokerKeyring.openDatabase(
        await open(await cluster.createDatabase()),
        kek(randomBytes(32)),
      );
      const [planted] = await (stores.at(-1) as Store).listSigningKeys();
      assert.ok(planted !== undefined);
      const admin = await cluster.admin(new URL(url).pathname.slice(1));
      try {
        await admin.query(
          `INSERT INTO signing_keys (kid, x, created_at, retired_at, version, wrapped, seal)
         VALUES ($1, $2, 1, 1, 1, NULL, $3)`,
          [planted.kid, planted.x, planted.seal],
        );
      } finally {
        await admin.end();
      }
      await assert.rejects(BrokerKeyring.openDatabase(intruder, kek()), unwrapFailed, 'planted');
      await assert.rejects(a.keyring.refresh(), unwrapFailed, 'planted, at a refresh');
    });

    it('keeps no private key and no KEK in a database dump', async () => {
      const url = await cluster.createDatabase();
      const a = await replica(url);
      const retiredKey = a.keyring.signer.privateKey;
      await issue(a);
      await a.keyring.rotateKeys();
      const activeKey = a.keyring.signer.privateKey;
      const { stdout } = await run(join(PG_BIN, 'pg_dump'), ['--dbname', url], {
        encoding: 'buffer',
        maxBuffer: 64 * 1024 * 1024,
      });
      const keyNeedles = (label: string, key: typeof activeKey) => {
        const der = key.export({ format: 'der', type: 'pkcs8' });
        return [needle(`${label} PKCS#8`, der), needle(`${label} seed`, der.subarray(-32))];
      };
      const control = generateKeyPairSync('ed25519').privateKey;
      const controlKek = randomBytes(32);
      const controls = [...keyNeedles('control', control), needle('control KEK', controlKek)];
      const planted = Buffer.concat([
        stdout,
        control.export({ format: 'der', type: 'pkcs8' }),
        Buffer.from(controlKek.toString('base64')),
      ]);
      assert.deepEqual(findIn(planted, controls).sort(), controls.map((n) => n.label).sort());
      assert.ok(stdout.includes('signing_keys'), 'the dump holds the keyring table');
      const real = [
        ...keyNeedles('active key', activeKey),
        ...keyNeedles('retired key', retiredKey),
        needle('KEK', kekBytes),
      ];
      assert.deepEqual(findIn(stdout, real), []);
    });
  },
);
