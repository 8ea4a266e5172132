/**
 * JwksCache against a real JWKS server: only Ed25519 OKP keys with a kid are kept, fetches
 * are bounded in time and size, and refreshes — on age or on an unknown kid — happen at
 * most once per minRefreshMs, so a flood of made-up kids cannot hammer the broker.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { checkJwksUrl, JwksCache, parseJwks } from '../../src/bascule/jwks.js';
import { ManualClock } from '../../src/base/clock.js';
import { brokerKey, type JwksServer, startJwksServer } from './fixtures.js';

const k1 = brokerKey('k1');
const k2 = brokerKey('k2');
let server: JwksServer;

before(async () => {
  server = await startJwksServer([k1.jwk]);
});
after(() => server.close());

function reset(keys: Record<string, unknown>[]): void {
  server.keys = keys;
  server.raw = undefined;
  server.hang = false;
}

describe('parseJwks', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
    format: 'jwk',
  });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'jwk',
  });
  const priv = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });

  it('keeps only Ed25519 public keys with a well-formed kid', () => {
    const keys = parseJwks({
      keys: [
        k1.jwk,
        { ...rsa, kid: 'rsa' },
        { ...p256, kid: 'p256' },
        { ...priv, kid: 'with-private-part' },
        { ...k2.jwk, kid: undefined },
        { ...k2.jwk, kid: '../etc/passwd' },
        { ...k2.jwk, kid: 'alg-rs', alg: 'RS256' },
        { ...k2.jwk, kid: 'enc', use: 'enc' },
        { ...k2.jwk, kid: 'short-x', x: 'AAAA' },
        'not an object',
        null,
      ],
    });
    assert.deepEqual([...(keys?.keys() ?? [])], ['k1']);
    assert.equal(keys?.get('k1')?.asymmetricKeyType, 'ed25519');
  });

  it('drops a kid that appears twice, and refuses what is not a JWKS', () => {
    const keys = parseJwks({ keys: [k1.jwk, { ...k2.jwk, kid: 'k1' }, k2.jwk] });
    assert.deepEqual([...(keys?.keys() ?? [])], ['k2']);
    assert.equal(parseJwks({}), undefined);
    assert.equal(parseJwks([]), undefined);
    assert.equal(parseJwks({ keys: Array.from({ length: 65 }, () => k1.jwk) }), undefined);
  });
});

describe('checkJwksUrl', () => {
  it('wants https, or http to a loopback address', () => {
    assert.ok(checkJwksUrl('https://broker.example.test/.well-known/jwks.json'));
    assert.ok(checkJwksUrl('http://127.0.0.1:8443/.well-known/jwks.json'));
    assert.ok(checkJwksUrl('http://[::1]:8443/.well-known/jwks.json'));
    assert.ok(checkJwksUrl('http://localhost:8443/.well-known/jwks.json'));
    for (const bad of [
      'http://broker.example.test/.well-known/jwks.json',
      'http://10.0.0.1/.well-known/jwks.json',
      'ftp://127.0.0.1/jwks',
      'https://user:pw@broker.example.test/jwks',
      'not a url',
    ]) {
      assert.throws(() => checkJwksUrl(bad), { code: 'invalid_config' }, bad);
    }
  });
});

describe('JwksCache', () => {
  it('fetches once and serves the cache', async () => {
    reset([k1.jwk]);
    const cache = new JwksCache({ url: server.url });
    const before = server.fetches;
    const [a, b] = await Promise.all([cache.keys(), cache.keys()]);
    assert.equal(a, b);
    assert.deepEqual([...a.keys()], ['k1']);
    await cache.keys();
    assert.equal(server.fetches - before, 1);
    assert.equal(cache.fetchCount, 1);
  });

  it('refreshes on an unknown kid at most once per minRefreshMs', async () => {
    reset([k1.jwk]);
    const clock = new ManualClock();
    const cache = new JwksCache({ url: server.url, clock, minRefreshMs: 10_000 });
    await cache.keys();
    const base = server.fetches;

    // A flood of made-up kids within the interval: no fetch at all.
    clock.advance(1_000);
    const floods = await Promise.all(
      Array.from({ length: 50 }, (_, i) => cache.keysForKid(`bogus${i}`)),
    );
    assert.ok(floods.every((keys) => !keys.has('bogus0')));
    assert.equal(server.fetches, base);

    // After the interval, the whole flood costs one (coalesced) fetch.
    clock.advance(10_000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => cache.keysForKid(`bogus${i}`)));
    assert.equal(server.fetches, base + 1);

    // A rotated key is picked up on the first grant that names it, once allowed.
    server.keys = [k1.jwk, k2.jwk];
    assert.equal((await cache.keysForKid('k2')).has('k2'), false);
    clock.advance(10_000);
    assert.equal((await cache.keysForKid('k2')).has('k2'), true);
    assert.equal(server.fetches, base + 2);
    // A known kid never fetches.
    await cache.keysForKid('k1');
    assert.equal(server.fetches, base + 2);
  });

  it('refetches aged keys and drops removed ones', async () => {
    reset([k1.jwk, k2.jwk]);
    const clock = new ManualClock();
    const cache = new JwksCache({ url: server.url, clock, maxAgeMs: 60_000 });
    assert.equal((await cache.keys()).size, 2);
    server.keys = [k2.jwk];
    clock.advance(59_000);
    assert.equal((await cache.keys()).size, 2);
    clock.advance(1_000);
    assert.deepEqual([...(await cache.keys()).keys()], ['k2']);
  });

  it('keeps stale keys through a failed refresh, but not forever', async () => {
    reset([k1.jwk]);
    const clock = new ManualClock();
    const cache = new JwksCache({
      url: server.url,
      clock,
      maxAgeMs: 60_000,
      maxStaleMs: 120_000,
    });
    await cache.keys();
    server.raw = { status: 500, body: '{"keys":[]}' };
    clock.advance(61_000);
    assert.deepEqual([...(await cache.keys()).keys()], ['k1']);
    clock.advance(60_000);
    await assert.rejects(cache.keys(), { code: 'bascule_jwks_unavailable', status: 503 });
  });

  it('refuses a non-200, an oversized or a malformed document, and a slow server', async () => {
    const cases: [string, () => void][] = [
      ['500', () => (server.raw = { status: 500, body: JSON.stringify({ keys: [k1.jwk] }) })],
      ['redirect', () => (server.raw = { status: 302, body: '' })],
      ['too large', () => (server.raw = { status: 200, body: ' '.repeat(70_000) + '{}' })],
      ['not JSON', () => (server.raw = { status: 200, body: 'keys' })],
      ['not a JWKS', () => (server.raw = { status: 200, body: '{"keys":{}}' })],
      ['hangs', () => (server.hang = true)],
    ];
    for (const [label, setup] of cases) {
      reset([k1.jwk]);
      setup();
      const cache = new JwksCache({ url: server.url, timeoutMs: 300 });
      const started = Date.now();
      await assert.rejects(cache.keys(), { code: 'bascule_jwks_unavailable' }, label);
      assert.ok(Date.now() - started < 3_000, label);
    }
    reset([k1.jwk]);
  });

  it('does not refetch faster than minRefreshMs after a failure either', async () => {
    reset([k1.jwk]);
    server.raw = { status: 503, body: '' };
    const clock = new ManualClock();
    const cache = new JwksCache({ url: server.url, clock, minRefreshMs: 10_000 });
    const base = server.fetches;
    for (let i = 0; i < 10; i += 1) {
      await assert.rejects(cache.keysForKid('k1'), { code: 'bascule_jwks_unavailable' });
    }
    assert.equal(server.fetches, base + 1);
    server.raw = undefined;
    clock.advance(10_000);
    assert.ok((await cache.keysForKid('k1')).has('k1'));
  });
});
