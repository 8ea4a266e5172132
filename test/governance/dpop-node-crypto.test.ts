/**
 * DPoP proof verification is written out on node:crypto (src/governance/dpop.ts) where
 * jose's jwtVerify used to run. These are the things such a path could get wrong that jose
 * handled, one rejection each, every proof otherwise valid and correctly signed so that
 * only the check named refuses it: segment spelling, crit and b64, the embedded key's
 * members, a key that is not Ed25519, the signature's length and key, exp and nbf, a clock
 * that is not a number. Then, by property, the verdict of jose's jwtVerify (kept as the
 * reference here, the test's only use of it) on proofs varied in all those members.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EmbeddedJWK, jwtVerify } from 'jose';
import { AuthenticationError } from '../../src/governance/auth-errors.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { type DpopCheck, verifyDpopProof } from '../../src/governance/dpop.js';
import { runs } from '../helpers/property.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const URL_ = 'http://127.0.0.1:8443/governance/authorize/';
const alice = generatePrincipalKey();
const mallory = generatePrincipalKey();
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Json = Record<string, unknown>;
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

let serial = 0;
const header = (extra: Json = {}): Json => ({
  alg: 'EdDSA',
  typ: 'dpop+jwt',
  jwk: alice.publicJwk,
  ...extra,
});
const claims = (extra: Json = {}): Json => ({
  htm: 'POST',
  htu: URL_,
  iat: NOW / 1000,
  jti: `jti-node-${String((serial += 1)).padStart(6, '0')}`,
  ...extra,
});

/** A proof over exactly these segment texts, its signature passed through `edit`. */
function signSegments(
  headerB64: string,
  payloadB64: string,
  key: KeyObject = alice.privateKey,
  edit: (signature: Buffer) => Buffer = (s) => s,
): string {
  const input = `${headerB64}.${payloadB64}`;
  return `${input}.${edit(sign(null, Buffer.from(input), key)).toString('base64url')}`;
}

const proofOf = (h: Json = header(), c: Json = claims()): string => signSegments(b64(h), b64(c));

function check(overrides: Partial<DpopCheck> = {}): DpopCheck {
  return {
    method: 'POST',
    url: URL_,
    now: NOW,
    skewMs: 30_000,
    remember: () => Promise.resolve(true),
    ...overrides,
  };
}

async function verdict(proof: string, c: DpopCheck = check()): Promise<string> {
  try {
    await verifyDpopProof(proof, c);
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof AuthenticationError, String(err));
    assert.equal(err.status, 401);
    return err.code;
  }
}

/** The same bytes spelt another way: the last character's lowest (spare) bit flipped. */
function respelt(segment: string): string {
  assert.notEqual(segment.length % 4, 0, 'a segment without spare bits');
  const last = BASE64URL.indexOf(segment.slice(-1));
  return segment.slice(0, -1) + (BASE64URL[last ^ 1] ?? '');
}

/** `value` as a segment whose length leaves spare bits (padded with a harmless member). */
function segmentWithSpareBits(value: Json): string {
  for (let pad = 0; ; pad += 1) {
    const segment = b64({ ...value, pad: 'x'.repeat(pad) });
    if (segment.length % 4 !== 0) return segment;
  }
}

describe('verifyDpopProof on node:crypto: what jose used to refuse', () => {
  it('accepts the control proof', async () => {
    assert.equal(await verdict(proofOf()), 'accepted');
    const h = segmentWithSpareBits(header());
    const c = segmentWithSpareBits(claims());
    assert.equal(await verdict(signSegments(h, c)), 'accepted');
  });

  it('refuses a segment spelt other than the one canonical way', async () => {
    const h = segmentWithSpareBits(header());
    const c = () => segmentWithSpareBits(claims());
    // Spare bits in the header, the claims, the signature: the same bytes, other text.
    assert.equal(await verdict(signSegments(respelt(h), c())), 'dpop_invalid');
    assert.equal(await verdict(signSegments(h, respelt(c()))), 'dpop_invalid');
    const [h64, c64, s64] = signSegments(h, c()).split('.') as [string, string, string];
    assert.equal(await verdict(`${h64}.${c64}.${respelt(s64)}`), 'dpop_invalid');
    // A dangling character (length 1 mod 4), which Buffer's decoder drops and atob refuses.
    assert.equal(await verdict(signSegments(`${b64(header())}A`, b64(claims()))), 'dpop_invalid');
    assert.equal(await verdict(signSegments(b64(header()), `${b64(claims())}A`)), 'dpop_invalid');
  });

  it('refuses crit and b64, whatever their values', async () => {
    for (const extra of [
      { crit: ['exp'], exp: NOW / 1000 + 60 },
      { crit: ['b64'], b64: true },
      { crit: ['b64'], b64: false },
      { b64: false },
      { b64: true },
    ]) {
      assert.equal(await verdict(proofOf(header(extra))), 'dpop_invalid', JSON.stringify(extra));
    }
  });

  it("refuses the embedded key's use, alg, key_ops and ext where jose did", async () => {
    const withJwk = (extra: Json) => proofOf(header({ jwk: { ...alice.publicJwk, ...extra } }));
    const accepted = [{ use: 'sig' }, { alg: 'EdDSA' }, { key_ops: ['verify'] }, { ext: false }];
    for (const extra of accepted) {
      assert.equal(await verdict(withJwk(extra)), 'accepted', JSON.stringify(extra));
    }
    const refused = [
      { use: 'enc' },
      { alg: 'Ed25519' },
      { alg: 'ES256' },
      { key_ops: ['sign'] },
      { key_ops: [] },
      { key_ops: ['verify', 'verify'] },
      { key_ops: ['verify', 'sign'] },
      { key_ops: 'verify' },
      { ext: 'true' },
    ];
    for (const extra of refused) {
      assert.equal(await verdict(withJwk(extra)), 'dpop_invalid', JSON.stringify(extra));
    }
  });

  it('refuses a key with private members, and a key that is not Ed25519', async () => {
    // Alice's public key with a d: her own (a private JWK), and another key's.
    const d = (k: KeyObject) => k.export({ format: 'jwk' }).d;
    for (const key of [alice.privateKey, mallory.privateKey]) {
      const jwk = { ...alice.publicJwk, d: d(key) };
      assert.equal(await verdict(proofOf(header({ jwk }))), 'dpop_invalid');
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const x25519 = generateKeyPairSync('x25519').publicKey;
    const ed448 = generateKeyPairSync('ed448').publicKey;
    for (const key of [rsa, ec, x25519, ed448]) {
      const jwk = key.export({ format: 'jwk' });
      assert.equal(await verdict(proofOf(header({ jwk }))), 'dpop_key_not_did', jwk.kty);
    }
  });

  it('refuses a signature of the wrong length, or by another key than the embedded one', async () => {
    const h = b64(header());
    const c = () => b64(claims());
    const edits = [
      (s: Buffer) => s.subarray(0, 63),
      (s: Buffer) => Buffer.concat([s, Buffer.alloc(1)]),
      (s: Buffer) => Buffer.concat([s, s]),
      () => Buffer.alloc(64),
    ];
    for (const edit of edits) {
      assert.equal(await verdict(signSegments(h, c(), alice.privateKey, edit)), 'dpop_invalid');
    }
    assert.equal(await verdict(signSegments(h, c(), mallory.privateKey)), 'dpop_invalid');
    // Mallory's key embedded, Alice's signature: refused the other way round too.
    const theirs = b64(header({ jwk: mallory.publicJwk }));
    assert.equal(await verdict(signSegments(theirs, c(), alice.privateKey)), 'dpop_invalid');
  });

  it('refuses exp and nbf as jose did: not numbers, expired, not yet valid', async () => {
    const at = NOW / 1000;
    const accepted = [{ exp: at + 1 }, { exp: at + 0.5 }, { nbf: at }, { nbf: at - 60 }];
    for (const extra of accepted) {
      assert.equal(await verdict(proofOf(header(), claims(extra))), 'accepted');
    }
    const refused = [
      { exp: at },
      { exp: at - 1 },
      { exp: String(at + 60) },
      { exp: null },
      { nbf: at + 1 },
      { nbf: at + 0.5 },
      { nbf: String(at) },
    ];
    for (const extra of refused) {
      const proof = proofOf(header(), claims(extra));
      assert.equal(await verdict(proof), 'dpop_invalid', JSON.stringify(extra));
    }
  });

  it('refuses every proof when the clock is not a number', async () => {
    assert.equal(await verdict(proofOf(), check({ now: Number.NaN })), 'dpop_invalid');
  });
});

// ---------------------------------------------------------------------------------------
// The reference: jose's verdict on the members jose judged, all else valid.

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const variantArb = fc.record({
  jwk: fc.record({
    use: optional(fc.constantFrom<unknown>('sig', 'enc', 1)),
    alg: optional(fc.constantFrom<unknown>('EdDSA', 'Ed25519', 'ES256', 'none')),
    key_ops: optional(
      fc.constantFrom<unknown>(['verify'], ['sign'], [], ['verify', 'verify'], 'verify', [1]),
    ),
    ext: optional(fc.constantFrom<unknown>(true, false, 'true', 0)),
    kid: optional(fc.constantFrom<unknown>('k1', 7)),
  }),
  header: fc.record({ kid: optional(fc.constantFrom<unknown>('k1', 7)) }),
  claims: fc.record({
    exp: optional(fc.constantFrom<unknown>(-60, -1, 0, 0.5, 1, 60, '60', null)),
    nbf: optional(fc.constantFrom<unknown>(-60, -0.5, 0, 0.5, 1, '0', null)),
  }),
  signer: fc.constantFrom('alice', 'mallory'),
  truncate: fc.boolean(),
});

const defined = (o: Json): Json =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

async function joseAccepts(proof: string): Promise<boolean> {
  try {
    await jwtVerify(proof, EmbeddedJWK, {
      algorithms: ['EdDSA'],
      typ: 'dpop+jwt',
      currentDate: new Date(NOW),
    });
    return true;
  } catch {
    return false;
  }
}

describe('verifyDpopProof on node:crypto against jose (property)', () => {
  it("accepts exactly the proofs jose's jwtVerify accepts, refusing the others as dpop_invalid", async () => {
    const at = NOW / 1000;
    const relative = (v: unknown) => (typeof v === 'number' ? at + v : v);
    await fc.assert(
      fc.asyncProperty(variantArb, async (v) => {
        const h = header({ ...defined(v.header), jwk: { ...alice.publicJwk, ...defined(v.jwk) } });
        const c = claims(defined({ exp: relative(v.claims.exp), nbf: relative(v.claims.nbf) }));
        const key = v.signer === 'alice' ? alice.privateKey : mallory.privateKey;
        const edit = v.truncate ? (s: Buffer) => s.subarray(0, 63) : undefined;
        const proof = signSegments(b64(h), b64(c), key, edit);
        const expected = (await joseAccepts(proof)) ? 'accepted' : 'dpop_invalid';
        assert.equal(await verdict(proof), expected);
      }),
      runs(300),
    );
  });
});
