/** DPoP proof verification (RFC 9449), one rejection per rule. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuthenticationError } from '../../src/governance/auth-errors.js';
import { generatePrincipalKey, publicJwkOf, thumbprint } from '../../src/governance/did-key.js';
import {
  accessTokenHash,
  createDpopProof,
  type DpopCheck,
  verifyDpopProof,
} from '../../src/governance/dpop.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const URL_ = 'http://127.0.0.1:8443/governance/authorize/';
const alice = generatePrincipalKey();

function check(overrides: Partial<DpopCheck> = {}): DpopCheck {
  const seen = new Set<string>();
  return {
    method: 'POST',
    url: URL_,
    now: NOW,
    skewMs: 30_000,
    remember: (jkt, jti) => {
      const k = `${jkt}/${jti}`;
      const fresh = !seen.has(k);
      seen.add(k);
      return Promise.resolve(fresh);
    },
    ...overrides,
  };
}

const proof = (o: Partial<Parameters<typeof createDpopProof>[0]> = {}) =>
  createDpopProof({
    privateKey: alice.privateKey,
    publicJwk: alice.publicJwk,
    method: 'POST',
    url: URL_,
    now: NOW,
    ...o,
  });

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(
    p,
    (err: unknown) => err instanceof AuthenticationError && err.code === code && err.status === 401,
  );
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('verifyDpopProof', () => {
  it('accepts a fresh proof and names the did:key principal and thumbprint', async () => {
    const v = await verifyDpopProof(await proof(), check());
    assert.equal(v.did, alice.did);
    assert.equal(v.jkt, await thumbprint(alice.publicJwk));
  });

  it('compares htu without query and case-insensitively in scheme and host', async () => {
    await verifyDpopProof(
      await proof({ url: 'HTTP://127.0.0.1:8443/governance/authorize/?x=1' }),
      check(),
    );
  });

  it('refuses a missing, repeated or malformed proof', async () => {
    await rejects(verifyDpopProof(undefined, check()), 'dpop_missing');
    await rejects(verifyDpopProof('', check()), 'dpop_missing');
    const p = await proof();
    await rejects(verifyDpopProof([p, p], check()), 'dpop_invalid');
    await rejects(verifyDpopProof('not.a.jwt!', check()), 'dpop_invalid');
    await rejects(verifyDpopProof('x'.repeat(5000), check()), 'dpop_invalid');
  });

  it('refuses a proof signed by another key than its jwk', async () => {
    const mallory = generateKeyPairSync('ed25519').privateKey;
    const input = `${b64({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: alice.publicJwk })}.${b64({ htm: 'POST', htu: URL_, iat: NOW / 1000, jti: 'jti-000001' })}`;
    const forged = `${input}.${sign(null, Buffer.from(input), mallory).toString('base64url')}`;
    await rejects(verifyDpopProof(forged, check()), 'dpop_invalid');
  });

  it('refuses the wrong typ, a disallowed alg, a private jwk, a non-Ed25519 key', async () => {
    const body = b64({ htm: 'POST', htu: URL_, iat: NOW / 1000, jti: 'jti-000002' });
    const signed = (h: unknown) => {
      const input = `${b64(h)}.${body}`;
      return `${input}.${sign(null, Buffer.from(input), alice.privateKey).toString('base64url')}`;
    };
    await rejects(
      verifyDpopProof(signed({ alg: 'EdDSA', typ: 'JWT', jwk: alice.publicJwk }), check()),
      'dpop_invalid',
    );
    await rejects(
      verifyDpopProof(signed({ alg: 'none', typ: 'dpop+jwt', jwk: alice.publicJwk }), check()),
      'dpop_invalid',
    );
    const privateJwk = alice.privateKey.export({ format: 'jwk' });
    await rejects(
      verifyDpopProof(signed({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: privateJwk }), check()),
      'dpop_invalid',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await rejects(
      verifyDpopProof(signed({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: publicJwkOfAny(ec) }), check()),
      'dpop_key_not_did',
    );
  });

  it('refuses another method or URL', async () => {
    await rejects(verifyDpopProof(await proof({ method: 'GET' }), check()), 'dpop_htm_mismatch');
    await rejects(
      verifyDpopProof(await proof({ url: 'http://127.0.0.1:8443/governance/revoke/' }), check()),
      'dpop_htu_mismatch',
    );
    await rejects(
      verifyDpopProof(await proof({ url: 'http://127.0.0.1:9999/governance/authorize/' }), check()),
      'dpop_htu_mismatch',
    );
    await rejects(
      verifyDpopProof(
        await proof({ url: 'https://127.0.0.1:8443/governance/authorize/' }),
        check(),
      ),
      'dpop_htu_mismatch',
    );
  });

  it('refuses iat beyond the skew either way, and accepts it exactly at the edge', async () => {
    await rejects(
      verifyDpopProof(await proof({ now: NOW - 31_000 }), check()),
      'dpop_iat_out_of_window',
    );
    await rejects(
      verifyDpopProof(await proof({ now: NOW + 31_000 }), check()),
      'dpop_iat_out_of_window',
    );
    await verifyDpopProof(await proof({ now: NOW - 30_000 }), check());
    await verifyDpopProof(await proof({ now: NOW + 30_000 }), check());
  });

  it('refuses a replayed jti, per key', async () => {
    const c = check();
    const p = await proof({ jti: 'same-jti-1' });
    await verifyDpopProof(p, c);
    await rejects(verifyDpopProof(p, c), 'dpop_replayed');
    const bob = generatePrincipalKey();
    await verifyDpopProof(
      await createDpopProof({
        privateKey: bob.privateKey,
        publicJwk: bob.publicJwk,
        method: 'POST',
        url: URL_,
        now: NOW,
        jti: 'same-jti-1',
      }),
      c,
    );
  });

  it('binds an access token with ath, and a key with cnf.jkt', async () => {
    const token = 'the.ac.token';
    await verifyDpopProof(await proof({ accessToken: token }), check({ accessToken: token }));
    await rejects(
      verifyDpopProof(await proof(), check({ accessToken: token })),
      'dpop_ath_missing',
    );
    await rejects(
      verifyDpopProof(await proof({ accessToken: 'other' }), check({ accessToken: token })),
      'dpop_ath_mismatch',
    );
    assert.equal(accessTokenHash('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    await rejects(
      verifyDpopProof(await proof(), check({ expectedJkt: 'A'.repeat(43) })),
      'dpop_key_mismatch',
    );
  });
});

function publicJwkOfAny(key: ReturnType<typeof generateKeyPairSync>['privateKey']) {
  try {
    return publicJwkOf(key);
  } catch {
    const { kty, crv, x, y } = key.export({ format: 'jwk' });
    return { kty, crv, x, y };
  }
}
