/**
 * The verified-AC cache, through GovernanceService.verify with the real keyring, an
 * in-memory SQLite store and a manual clock. Signature verifications are counted by a
 * verifier that wraps `verifyAc`: a hit makes none. Each refusal on a hit is shown with the
 * entry still cached (the count does not move), so it comes from the hit's own check; each
 * invalidation is shown by the next use verifying afresh.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import type { Connector } from '../../src/connectors/connector.js';
import { SessionConnector } from '../../src/connectors/session.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { signAc, verifyAc, type VerifiedAc } from '../../src/governance/ac.js';
import { AC_CACHE_ENTRIES, VerifiedAcCache } from '../../src/governance/ac-cache.js';
import type { Accord } from '../../src/governance/accords.js';
import { generatePrincipalKey, thumbprint } from '../../src/governance/did-key.js';
import type { VerifiedProof } from '../../src/governance/dpop.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { Policy } from '../../src/governance/policy.js';
import { GovernanceService } from '../../src/governance/service.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const SKEW_MS = 30_000;
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

/** Rejects with this catalog code. */
const refusedWith = (code: string) => (err: unknown) => (err as { code?: unknown }).code === code;

describe('the verified-AC cache', () => {
  let dir: string;
  let store: SqliteStore;
  let keyring: BrokerKeyring;
  let clock: ManualClock;
  let policy: Policy;
  let cache: VerifiedAcCache;
  let service: GovernanceService;
  let caller: VerifiedProof;
  /** Full verifications (signature included) made by the cache. */
  let verified: number;

  function serviceWith(acCache: VerifiedAcCache): GovernanceService {
    return new GovernanceService({
      store,
      keyring,
      clock,
      logger: silentLogger,
      // No trail here; the issuance's own writes (its AC row, its key's use) still land.
      audit: { append: (_event, effects) => store.insertAuditEntries([], effects) },
      settings: {
        issuer: 'urn:bastion:broker',
        audience: 'urn:bastion:connectors',
        skewMs: SKEW_MS,
        policy,
        approvalTtlMs: 60_000,
      },
      acCache,
    });
  }

  function countingCache(maxEntries?: number): VerifiedAcCache {
    return new VerifiedAcCache({
      ...(maxEntries !== undefined ? { maxEntries } : {}),
      verify: (token, options) => {
        verified += 1;
        return verifyAc(token, options);
      },
    });
  }

  /** A fresh AC for alice, active at once. */
  async function issue(durationSeconds = 600): Promise<{ token: string; acId: string }> {
    const result = await service.authorize(caller, {
      accord: 'ops',
      connector: 'ssh',
      target: TARGET,
      capabilities: ['exec'],
      duration_seconds: durationSeconds,
    });
    if (result.status !== 'active') throw new Error('the accord needs no approval');
    return { token: result.ac, acId: result.ac_id };
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bastion-ac-cache-'));
    clock = new ManualClock(Date.UTC(2026, 10, 30, 12, 0, 0));
    store = SqliteStore.memory();
    keyring = await BrokerKeyring.open(dir, clock.now());
    policy = new Policy(new Map([[accord.id, accord]]), []);
    verified = 0;
    cache = countingCache();
    service = serviceWith(cache);
    caller = {
      did: alice.did,
      jkt: await thumbprint(alice.publicJwk),
      jwk: alice.publicJwk,
      jti: 'test-proof',
    };
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies an AC once: a later use returns the same verification without a signature check', async () => {
    const { token, acId } = await issue();
    const first = await service.verify(token);
    const second = await service.verify(token);
    assert.equal(verified, 1);
    assert.equal(second.claims, first.claims, 'the very claims verified the first time');
    assert.deepEqual(second, first);
    assert.equal(second.claims.jti, acId);
    assert.equal(cache.size, 1);
    // Frozen: no use can change what the next one is given.
    assert.throws(() => {
      (second.claims.ctx as { target: string }).target = 'other.internal.test';
    }, TypeError);
  });

  it('refuses an expired AC on a hit, at exp + skew on the injected clock', async () => {
    const { token } = await issue(60);
    const { claims } = await service.verify(token);
    clock.set(claims.exp * 1000 + SKEW_MS - 1);
    await service.verify(token);
    clock.set(claims.exp * 1000 + SKEW_MS);
    await assert.rejects(service.verify(token), refusedWith('ac_expired'));
    assert.equal(verified, 1, 'refused by the hit, not by a new verification');
    assert.equal(cache.size, 0, 'and dropped');
  });

  it('refuses an AC before nbf - skew on a hit (a clock set back)', async () => {
    const { token } = await issue();
    const { claims } = await service.verify(token);
    clock.set(claims.nbf * 1000 - SKEW_MS - 1);
    await assert.rejects(service.verify(token), refusedWith('ac_not_yet_valid'));
    assert.equal(verified, 1);
  });

  it('reads revocation at every use: an AC revoked behind the cache is refused on a hit', async () => {
    const { token, acId } = await issue();
    await service.verify(token);
    // Revoked in the store without the service (another broker on the same database).
    await store.revokeAc(acId, alice.did, clock.now(), Math.floor(clock.now() / 1000) + 3600);
    await assert.rejects(service.verify(token), refusedWith('ac_revoked'));
    assert.equal(verified, 1, 'refused by the hit');
    assert.equal(cache.size, 0);
  });

  it('drops the AC at once when the service revokes it', async () => {
    const { token, acId } = await issue();
    const other = await issue();
    await service.verify(token);
    await service.verify(other.token);
    assert.equal(cache.size, 2);
    await service.revoke(caller, acId);
    assert.equal(cache.size, 1, 'only the revoked AC went');
    await assert.rejects(service.verify(token), refusedWith('ac_revoked'));
    await service.verify(other.token);
    assert.equal(verified, 3, 'the revoked AC was verified afresh, the other was a hit');
  });

  it('verifies afresh the ACs of a retired key, which still verifies them, and drops them when the key leaves the set', async () => {
    const { token } = await issue();
    const { kid } = await service.verify(token);
    await BrokerKeyring.rotate(dir, clock.now());
    keyring.reload();
    await service.verify(token);
    // The retirement dropped its entries: verified once more, against the keyring as read now.
    assert.equal(verified, 2, 'a retired key verifies the ACs it signed until they expire');
    await service.verify(token);
    assert.equal(verified, 2, 'and they are cached again');

    const after = (await issue()).token;
    await service.verify(after);
    assert.equal(cache.size, 2);
    // The operator removes the old key from the keyring (a compromise) and reloads it.
    const file = join(dir, 'keys', 'keyring.json');
    const keyringFile = JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, unknown> };
    delete keyringFile.keys[kid];
    writeFileSync(file, JSON.stringify(keyringFile));
    keyring.reload();
    await assert.rejects(service.verify(token), refusedWith('ac_unknown_key'));
    assert.equal(verified, 4, 'verified afresh, and refused');
    assert.equal(cache.size, 1, 'what the new key signed stays');
    await service.verify(after);
    assert.equal(verified, 4);
  });

  it('clears everything when the policy is reloaded (and caches again after)', async () => {
    const { token } = await issue();
    await service.verify(token);
    await service.verify(token);
    assert.equal(verified, 1);
    policy.replace(new Map([[accord.id, accord]]), []);
    await service.verify(token);
    assert.equal(verified, 2, 'the reload dropped the entry');
    await service.verify(token);
    assert.equal(verified, 2);
  });

  it('runs the accord re-check on a hit: a change the cache was not told of still refuses', async () => {
    const { token } = await issue();
    await service.verify(token);
    const ac: VerifiedAc = await service.verify(token);
    assert.equal(verified, 1, 'a hit');
    const session = new SessionConnector({
      resolver: new CredentialResolver({ logger: silentLogger }),
      audit: { append: () => Promise.resolve() },
      accords: () => new Map(),
      limits: { maxOutputBytes: 1000, timeoutMs: 1000 },
      clock,
      logger: silentLogger,
    });
    const ssh = { name: 'ssh' } as unknown as Connector;
    await assert.rejects(
      session.invoke({ caller, ac, connector: ssh, target: TARGET, operation: { argv: ['true'] } }),
      refusedWith('accord_changed'),
    );
  });

  it('is bounded: past its size the least recently used AC goes', async () => {
    service = serviceWith((cache = countingCache(2)));
    const [a, b, c] = [await issue(), await issue(), await issue()];
    await service.verify(a.token);
    await service.verify(b.token);
    await service.verify(a.token); // a is now the most recently used
    await service.verify(c.token); // b goes
    assert.equal(cache.size, 2);
    assert.equal(verified, 3);
    await service.verify(a.token);
    assert.equal(verified, 3, 'a stayed');
    await service.verify(b.token);
    assert.equal(verified, 4, 'b was evicted');
    assert.equal(AC_CACHE_ENTRIES, 10_000);
  });

  it('does not take a forged token with the same header and claims for a cached one', async () => {
    const { token } = await issue();
    await service.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const bytes = Buffer.from(signature, 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const forged = `${header}.${payload}.${bytes.toString('base64url')}`;
    await assert.rejects(service.verify(forged), refusedWith('ac_bad_signature'));
    assert.equal(verified, 2);
  });

  it('never caches a token that failed verification, even one whose signature held', async () => {
    const { token, acId } = await issue();
    await store.revokeAc(acId, alice.did, clock.now(), Math.floor(clock.now() / 1000) + 3600);
    await assert.rejects(service.verify(token), refusedWith('ac_revoked'));
    await assert.rejects(service.verify(token), refusedWith('ac_revoked'));
    assert.equal(verified, 2);
    // Signed by the broker's key but not yet valid: the signature passes, the claims do not.
    const now = Math.floor(clock.now() / 1000);
    const early = await signAc(
      { ...(await service.verify((await issue()).token)).claims, nbf: now + 600, iat: now },
      keyring.signer,
    );
    await assert.rejects(service.verify(early), refusedWith('ac_not_yet_valid'));
    clock.advance(600_000);
    await service.verify(early);
    assert.equal(verified, 5, 'verified afresh once valid');
    assert.equal(cache.size, 2);
    await assert.rejects(service.verify('not.a.token'), refusedWith('ac_malformed'));
    assert.equal(cache.size, 2);
  });

  it('does not insert a verification an invalidation overtook', async () => {
    const { token } = await issue();
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    cache = new VerifiedAcCache({
      verify: async (t, options) => {
        entered();
        await gate;
        return verifyAc(t, options);
      },
    });
    service = serviceWith(cache);
    const pending = service.verify(token);
    await inside; // the verification is under way
    cache.clear();
    release();
    await pending;
    assert.equal(cache.size, 0);
  });
});
