/**
 * DPoP proof verification (RFC 9449), one rejection per rule. Then the codec by property
 * (fast-check, bounded, fixed seed): a proof made for a method, URL and access token
 * verifies for exactly those and names its key; no single-character change of a proof
 * verifies; a member name twice in header or claims is refused; and htu is compared
 * without query and fragment, scheme and host in any case.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AuthenticationError } from '../../src/governance/auth-errors.js';
import { generatePrincipalKey, publicJwkOf, thumbprint } from '../../src/governance/did-key.js';
import {
  accessTokenHash,
  createDpopProof,
  type DpopCheck,
  normaliseHtu,
  verifyDpopProof,
} from '../../src/governance/dpop.js';
import {
  duplicateArb,
  editNested,
  signRaw,
  withDuplicate,
  withMemberFirst,
} from '../helpers/json-text.js';
import { changeOneCharacter, runs } from '../helpers/property.js';

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

  it('refuses a member name twice, in the header or the claims, at any depth', async () => {
    // Each duplicate comes first, so a last-wins parser (jose's JSON.parse) would read the
    // valid value and accept the proof.
    const h = JSON.stringify({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: alice.publicJwk });
    const c = JSON.stringify({ htm: 'POST', htu: URL_, iat: NOW / 1000, jti: 'jti-dup-0001' });
    await verifyDpopProof(signRaw(h, c, alice.privateKey), check());
    const other = generatePrincipalKey().publicJwk;
    const cases: [string, string][] = [
      [withMemberFirst(h, 'typ', '"JWT"'), c],
      [withMemberFirst(h, 'jwk', JSON.stringify(other), true), c],
      [editNested(h, 'jwk', (jwk) => withMemberFirst(jwk, 'x', JSON.stringify(other.x))), c],
      [h, withMemberFirst(c, 'htm', '"DELETE"')],
      [h, withMemberFirst(c, 'htu', '"http://elsewhere.test/"', true)],
      [h, withMemberFirst(c, 'jti', '"jti-dup-0002"')],
    ];
    for (const [header, claims] of cases) {
      await rejects(
        verifyDpopProof(signRaw(header, claims, alice.privateKey), check()),
        'dpop_invalid',
      );
    }
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

  it("names the base URL the broker expects on an htu mismatch, never the proof's htu", async () => {
    const given = { base: 'https://bastion.example.test' };
    await assert.rejects(
      verifyDpopProof(await proof({ url: 'http://127.0.0.1:9999/x' }), check(given)),
      (err: unknown) =>
        err instanceof AuthenticationError &&
        err.message.includes('reached at https://bastion.example.test') &&
        !err.message.includes('9999'),
    );
    // Without a base, the origin of the URL the broker expected.
    await assert.rejects(
      verifyDpopProof(await proof({ url: 'http://127.0.0.1:9999/x' }), check()),
      (err: unknown) =>
        err instanceof AuthenticationError &&
        err.message.includes(`reached at ${new URL(URL_).origin}`) &&
        !err.message.includes('9999'),
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

const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'QUERY');
const requestArb = fc.record({
  method: methodArb,
  url: fc.webPath().map((path) => `http://127.0.0.1:8443${path.startsWith('/') ? '' : '/'}${path}`),
  accessToken: fc.option(fc.string({ minLength: 1, maxLength: 200 }), { nil: undefined }),
});

async function refusal(token: string, c: DpopCheck): Promise<string | undefined> {
  try {
    await verifyDpopProof(token, c);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof AuthenticationError, String(err));
    return err.code;
  }
}

describe('the DPoP proof codec (properties)', () => {
  it('verifies a proof for its method, URL and token, and for no other method', async () => {
    const jkt = await thumbprint(alice.publicJwk);
    await fc.assert(
      fc.asyncProperty(requestArb, methodArb, async (request, other) => {
        const token = await proof(request);
        const verified = await verifyDpopProof(token, check(request));
        assert.equal(verified.did, alice.did);
        assert.equal(verified.jkt, jkt);
        if (other !== request.method) {
          assert.equal(
            await refusal(token, check({ ...request, method: other })),
            'dpop_htm_mismatch',
          );
        }
        if (request.accessToken !== undefined) {
          const bound = { ...request, accessToken: `${request.accessToken}x` };
          assert.equal(await refusal(token, check(bound)), 'dpop_ath_mismatch');
        }
      }),
      runs(100),
    );
  });

  it('refuses every proof with one character changed', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, fc.nat(), fc.nat(), async (request, at, by) => {
        const tampered = changeOneCharacter(await proof(request), at, by);
        assert.notEqual(await refusal(tampered, check(request)), undefined, tampered);
      }),
      runs(200),
    );
  });

  it('refuses a member name twice in header or claims, the valid value last', async () => {
    const header = JSON.stringify({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: alice.publicJwk });
    const where = fc.constantFrom('header', 'jwk', 'claims');
    await fc.assert(
      fc.asyncProperty(requestArb, where, duplicateArb, async (request, w, duplicate) => {
        const claims = (await proof(request)).split('.')[1] ?? '';
        const claimsText = Buffer.from(claims, 'base64url').toString();
        // Control: the same texts without the duplicate verify.
        await verifyDpopProof(signRaw(header, claimsText, alice.privateKey), check(request));
        const [h, c] =
          w === 'claims'
            ? [header, withDuplicate(claimsText, undefined, duplicate)]
            : [withDuplicate(header, w === 'jwk' ? 'jwk' : undefined, duplicate), claimsText];
        const refused = await refusal(signRaw(h, c, alice.privateKey), check(request));
        assert.equal(refused, 'dpop_invalid');
      }),
      runs(150),
    );
  });

  it('compares htu without query and fragment, scheme and host in any case', () => {
    const caseOf = (text: string, upper: readonly boolean[]) =>
      [...text].map((ch, i) => (upper[i % upper.length] === true ? ch.toUpperCase() : ch)).join('');
    fc.assert(
      fc.property(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.array(fc.boolean(), { minLength: 1 }),
        (raw, upper) => {
          const url = new URL(raw);
          const base = `${url.protocol}//${url.host}`;
          const respelt = `${caseOf(base, upper)}${url.pathname}${url.search}${url.hash}`;
          assert.equal(normaliseHtu(respelt), normaliseHtu(`${base}${url.pathname}`));
        },
      ),
      runs(300),
    );
  });
});
