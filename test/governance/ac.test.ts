/**
 * verifyAc, one rejection per rule and in order, each with its fixed code and message.
 * Hostile tokens are forged by hand (jose refuses to make most of them). Then the codec by
 * property (fast-check, bounded, fixed seed): any claims the broker signs verify back to
 * exactly those claims; no single-character change of a token verifies; and a member name
 * put twice anywhere the policy reads is refused, whichever value a parser would keep.
 */
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AcClaims,
  signAc,
  unsafeDecodeAc,
  verifyAc,
  type VerifyAcOptions,
} from '../../src/governance/ac.js';
import { AcExpiredError } from '../../src/base/errors.js';
import { AuthenticationError } from '../../src/governance/auth-errors.js';
import { CAPABILITIES, capabilityMask } from '../../src/governance/capabilities.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import {
  duplicateArb,
  editNested,
  signRaw,
  withDuplicate,
  withMemberFirst,
} from '../helpers/json-text.js';
import { changeOneCharacter, runs } from '../helpers/property.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const iat = NOW / 1000;
const principal = generatePrincipalKey();
const broker = generateKeyPairSync('ed25519').privateKey;
const KID = 'broker-key-1';

function claims(overrides: Record<string, unknown> = {}): AcClaims {
  return {
    iss: 'urn:bastion:broker',
    sub: principal.did,
    aud: 'urn:bastion:connectors',
    jti: '0b7a3c1e-0000-4000-8000-000000000001',
    iat,
    nbf: iat,
    exp: iat + 600,
    cnf: { jkt: 'x'.repeat(43) },
    ctx: {
      principal_did: principal.did,
      capability_mask: 3,
      capabilities: ['read', 'exec'],
      accord_template: 'ops',
      connector: 'ssh',
      target: 'db1.internal.test',
    },
    ...overrides,
  };
}

function options(overrides: Partial<VerifyAcOptions> = {}): VerifyAcOptions {
  return {
    keys: new Map<string, KeyObject>([[KID, createPublicKey(broker)]]),
    issuer: 'urn:bastion:broker',
    audience: 'urn:bastion:connectors',
    now: NOW,
    skewMs: 30_000,
    isRevoked: () => Promise.resolve(false),
    ...overrides,
  };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWS with any header and payload, signed EdDSA by `key` over the exact bytes. */
function forge(header: unknown, payload: unknown, key: KeyObject = broker): string {
  return signRaw(JSON.stringify(header), JSON.stringify(payload), key);
}

const header = { alg: 'EdDSA', typ: 'ac+jwt', kid: KID };

async function rejects(
  token: unknown,
  code: string,
  opts: Partial<VerifyAcOptions> = {},
): Promise<void> {
  await assert.rejects(verifyAc(token, options(opts)), (err: unknown) => {
    // An expired AC has its one class wherever it is found; every other failure is here.
    const expected = code === 'ac_expired' ? AcExpiredError : AuthenticationError;
    assert.ok(err instanceof expected, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, 401);
    // A fixed message: no part of the token in it.
    if (typeof token === 'string' && token.length > 20)
      assert.ok(!err.message.includes(token.slice(0, 20)));
    return true;
  });
}

describe('verifyAc', () => {
  it('accepts an AC signed by the broker, and returns its claims', async () => {
    const token = await signAc(claims(), { kid: KID, privateKey: broker });
    const v = await verifyAc(token, options());
    assert.equal(v.kid, KID);
    assert.equal(v.claims.sub, principal.did);
    assert.deepEqual(v.claims.ctx.capabilities, ['read', 'exec']);
    assert.deepEqual(unsafeDecodeAc(token), JSON.parse(JSON.stringify(claims())));
  });

  it("carries the accord's DPoP rule (ctx.sender_constrained) through signing", async () => {
    const ctx = { ...claims().ctx, sender_constrained: 'required' as const };
    const token = await signAc(claims({ ctx }), { kid: KID, privateKey: broker });
    assert.equal((await verifyAc(token, options())).claims.ctx.sender_constrained, 'required');
  });

  it('structure: missing, not a string, not a JWS, too long, wrong typ, crit', async () => {
    await rejects(undefined, 'ac_missing');
    await rejects('', 'ac_missing');
    await rejects(42, 'ac_missing');
    await rejects('a.b', 'ac_malformed');
    await rejects('a.b.c.d', 'ac_malformed');
    await rejects('@@.@@.@@', 'ac_malformed');
    await rejects(forge(header, claims()).padEnd(9000, 'A'), 'ac_malformed');
    await rejects(`${b64('not an object')}.${b64(claims())}.AAAA`, 'ac_malformed');
    await rejects(forge({ ...header, typ: 'JWT' }, claims()), 'ac_malformed');
    await rejects(forge({ ...header, crit: ['exp'] }, claims()), 'ac_malformed');
  });

  it('algorithm allow-list: alg none, and HS256 keyed with the public key', async () => {
    await rejects(`${b64({ ...header, alg: 'none' })}.${b64(claims())}.`, 'ac_malformed');
    await rejects(`${b64({ ...header, alg: 'none' })}.${b64(claims())}.AAAA`, 'ac_alg_not_allowed');
    const input = `${b64({ ...header, alg: 'HS256' })}.${b64(claims())}`;
    const publicPem = createPublicKey(broker).export({ format: 'pem', type: 'spki' });
    const mac = createHmac('sha256', publicPem).update(input).digest('base64url');
    await rejects(`${input}.${mac}`, 'ac_alg_not_allowed');
    await rejects(forge({ ...header, alg: 'ES256' }, claims()), 'ac_alg_not_allowed');
  });

  it('key by kid: unknown, missing, hostile, huge', async () => {
    await rejects(forge({ ...header, kid: 'other' }, claims()), 'ac_unknown_key');
    await rejects(forge({ alg: 'EdDSA', typ: 'ac+jwt' }, claims()), 'ac_unknown_key');
    await rejects(forge({ ...header, kid: '../x' }, claims()), 'ac_unknown_key');
    await rejects(forge({ ...header, kid: '__proto__' }, claims()), 'ac_unknown_key');
    await rejects(forge({ ...header, kid: 'k'.repeat(10_240) }, claims()), 'ac_malformed');
    await rejects(forge({ ...header, kid: 'k'.repeat(5000) }, claims()), 'ac_unknown_key');
    await rejects(forge({ ...header, kid: 7 }, claims()), 'ac_unknown_key');
  });

  it('signature: another key, an edited claim, a truncated signature', async () => {
    await rejects(
      forge(header, claims(), generateKeyPairSync('ed25519').privateKey),
      'ac_bad_signature',
    );
    const token = await signAc(claims(), { kid: KID, privateKey: broker });
    const [h, , s] = token.split('.');
    const edited = b64({ ...claims(), ctx: { ...claims().ctx, target: 'db2.internal.test' } });
    await rejects(`${h}.${edited}.${s}`, 'ac_bad_signature');
    await rejects(`${h}.${b64({ ...claims(), exp: iat + 99_999 })}.${s}`, 'ac_bad_signature');
    await rejects(token.slice(0, -4), 'ac_bad_signature');
  });

  const typeCases: [string, Record<string, unknown>][] = [
    ['exp missing', { exp: undefined }],
    ['exp null (NaN serialises as null)', { exp: null }],
    ['exp a string', { exp: String(iat + 600) }],
    ['exp fractional', { exp: iat + 600.5 }],
    ['nbf missing', { nbf: undefined }],
    ['iat a string', { iat: 'now' }],
    ['sub a number', { sub: 1 }],
    ['aud a list', { aud: ['urn:bastion:connectors'] }],
    ['cnf missing', { cnf: undefined }],
    ['cnf.jkt missing', { cnf: {} }],
    ['ctx missing', { ctx: undefined }],
    ['ctx.capabilities not a list', { ctx: { ...claims().ctx, capabilities: 'read' } }],
    ['ctx.capability_mask a string', { ctx: { ...claims().ctx, capability_mask: '3' } }],
    ['ctx.commands malformed', { ctx: { ...claims().ctx, commands: { allow: 'x' } } }],
    ['ctx.kerberos_principal a list', { ctx: { ...claims().ctx, kerberos_principal: ['a@R'] } }],
    ['ctx.sender_constrained unknown', { ctx: { ...claims().ctx, sender_constrained: 'maybe' } }],
  ];
  for (const [name, edit] of typeCases) {
    it(`claim types: ${name}`, async () => {
      await rejects(forge(header, claims(edit)), 'ac_claims_invalid');
    });
  }

  it('claim values: issuer, audience, sub vs ctx, mask vs names, exp before nbf', async () => {
    await rejects(forge(header, claims({ iss: 'urn:evil' })), 'ac_wrong_issuer');
    await rejects(forge(header, claims({ aud: 'urn:other' })), 'ac_wrong_audience');
    await rejects(forge(header, claims({ sub: generatePrincipalKey().did })), 'ac_claims_invalid');
    await rejects(
      forge(header, claims({ ctx: { ...claims().ctx, capability_mask: 15 } })),
      'ac_claims_invalid',
    );
    await rejects(forge(header, claims({ nbf: iat + 10, exp: iat + 5 })), 'ac_claims_invalid');
  });

  it('expiry and not-before at the skew boundary', async () => {
    const skewMs = 30_000;
    const past = claims({ iat: iat - 700, nbf: iat - 700, exp: iat - 30 });
    await rejects(forge(header, past), 'ac_expired');
    const atEdge = claims({ iat: iat - 700, nbf: iat - 700, exp: iat - 29 });
    await verifyAc(forge(header, atEdge), options({ skewMs }));
    await rejects(forge(header, claims({ nbf: iat + 31, iat: iat + 31 })), 'ac_not_yet_valid');
    await verifyAc(forge(header, claims({ nbf: iat + 30, iat: iat + 30 })), options({ skewMs }));
    await rejects(forge(header, claims({ iat: iat + 31 })), 'ac_not_yet_valid');
  });

  it('refuses a member name twice, in the header or the claims, at any depth', async () => {
    // Each duplicate comes first, so JSON.parse's "last wins" would read the valid value
    // and accept the token: the policy would act on one reading of the signed bytes.
    const h = JSON.stringify(header);
    const c = JSON.stringify(claims());
    const good = signRaw(h, c, broker);
    assert.equal((await verifyAc(good, options())).claims.jti, claims().jti, 'control');
    await rejects(signRaw(withMemberFirst(h, 'kid', '"other"'), c, broker), 'ac_malformed');
    await rejects(signRaw(withMemberFirst(h, 'typ', '"JWT"', true), c, broker), 'ac_malformed');
    const claimEdits = [
      withMemberFirst(c, 'aud', '"urn:other"'),
      withMemberFirst(c, 'exp', String(iat + 99_999)),
      withMemberFirst(c, 'sub', '"did:key:z6MkOther"', true),
      editNested(c, 'ctx', (ctx) => withMemberFirst(ctx, 'target', '"db2.internal.test"')),
      editNested(c, 'ctx', (ctx) => withMemberFirst(ctx, 'capabilities', '["admin"]', true)),
      editNested(c, 'cnf', (cnf) => withMemberFirst(cnf, 'jkt', `"${'y'.repeat(43)}"`)),
    ];
    for (const text of claimEdits) await rejects(signRaw(h, text, broker), 'ac_claims_invalid');
    assert.equal(unsafeDecodeAc(signRaw(h, claimEdits[0] ?? '', broker)), undefined);
  });

  it('refuses claims whose bytes are not UTF-8', async () => {
    // ÿ in latin1 is the lone byte 0xff: a decoder that replaces it would read "ops\ufffd".
    const text = JSON.stringify(claims({ ctx: { ...claims().ctx, accord_template: 'opsÿ' } }));
    await rejects(
      signRaw(JSON.stringify(header), Buffer.from(text, 'latin1'), broker),
      'ac_claims_invalid',
    );
  });

  it('revocation is checked last, and only for an otherwise valid AC', async () => {
    const seen: string[] = [];
    const isRevoked = (id: string): Promise<boolean> => {
      seen.push(id);
      return Promise.resolve(true);
    };
    await rejects(forge(header, claims()), 'ac_revoked', { isRevoked });
    await rejects(forge(header, claims({ iss: 'urn:evil' })), 'ac_wrong_issuer', { isRevoked });
    assert.deepEqual(seen, [claims().jti]);
  });
});

const signer = { kid: KID, privateKey: broker };
const text = fc.string({ maxLength: 40, unit: 'grapheme' });
// Plain objects, as JSON.parse makes them (fc.record may make null-prototype ones).
const plain = { noNullPrototype: true } as const;
const policy = fc.record(
  { allow: fc.array(text, { maxLength: 4 }), deny: fc.array(text, { maxLength: 4 }) },
  plain,
);
const actor: fc.Arbitrary<{ sub: string; act?: { sub: string } }> = fc.record(
  { sub: text, act: fc.record({ sub: text }, plain) },
  { requiredKeys: ['sub'], ...plain },
);

/** Claims as the broker signs them: every optional part present or absent. */
const claimsArb: fc.Arbitrary<AcClaims> = fc
  .record({
    jti: fc.string({ minLength: 1, maxLength: 64 }),
    age: fc.integer({ min: 0, max: 600 }),
    lifetime: fc.integer({ min: 60, max: 3600 }),
    jkt: fc.string({ minLength: 43, maxLength: 43 }),
    capabilities: fc.subarray(CAPABILITIES, { minLength: 1 }),
    accord: text,
    connector: text,
    target: text,
    commands: fc.option(policy, { nil: undefined }),
    paths: fc.option(policy, { nil: undefined }),
    sshPrincipals: fc.option(fc.array(text, { maxLength: 4 }), { nil: undefined }),
    kerberosPrincipal: fc.option(text, { nil: undefined }),
    ac: fc.option(text, { nil: undefined }),
    act: fc.option(actor, { nil: undefined }),
  })
  .map((g) => {
    const issued = Math.floor(NOW / 1000) - g.age;
    return {
      iss: options().issuer,
      sub: principal.did,
      aud: options().audience,
      jti: g.jti,
      iat: issued,
      nbf: issued,
      // Still valid now: issued `age` seconds ago, for longer than that.
      exp: issued + g.age + g.lifetime,
      cnf: { jkt: g.jkt },
      ...(g.ac !== undefined ? { ac: g.ac } : {}),
      ...(g.act !== undefined ? { act: g.act } : {}),
      ctx: {
        principal_did: principal.did,
        capability_mask: capabilityMask(g.capabilities),
        capabilities: g.capabilities,
        accord_template: g.accord,
        connector: g.connector,
        target: g.target,
        ...(g.commands !== undefined ? { commands: g.commands } : {}),
        ...(g.paths !== undefined ? { paths: g.paths } : {}),
        ...(g.sshPrincipals !== undefined ? { ssh_principals: g.sshPrincipals } : {}),
        ...(g.kerberosPrincipal !== undefined ? { kerberos_principal: g.kerberosPrincipal } : {}),
      },
    };
  });

async function refused(token: string): Promise<boolean> {
  try {
    await verifyAc(token, options());
    return false;
  } catch (err) {
    assert.ok(err instanceof AuthenticationError, String(err));
    return true;
  }
}

describe('the AC codec (properties)', () => {
  it('verifies what it signs, to exactly the claims signed', async () => {
    await fc.assert(
      fc.asyncProperty(claimsArb, async (claims) => {
        const token = await signAc(claims, signer);
        const verified = await verifyAc(token, options());
        assert.deepEqual(verified.claims, claims);
        assert.deepEqual(unsafeDecodeAc(token), claims);
      }),
      runs(100),
    );
  });

  it('refuses every token with one character changed', async () => {
    await fc.assert(
      fc.asyncProperty(claimsArb, fc.nat(), fc.nat(), async (claims, at, by) => {
        const token = await signAc(claims, signer);
        const tampered = changeOneCharacter(token, at, by);
        assert.ok(await refused(tampered), tampered);
      }),
      runs(200),
    );
  });

  it('refuses a member name twice wherever the policy reads, the valid value last', async () => {
    const headerText = JSON.stringify(header);
    const where = fc.constantFrom(undefined, 'ctx', 'cnf');
    await fc.assert(
      fc.asyncProperty(claimsArb, where, duplicateArb, async (claims, nested, duplicate) => {
        const payload = JSON.stringify(claims);
        // Control: the payload as signed, without the duplicate, verifies.
        await verifyAc(signRaw(headerText, payload, broker), options());
        const duplicated = withDuplicate(payload, nested, duplicate);
        assert.ok(await refused(signRaw(headerText, duplicated, broker)));
      }),
      runs(150),
    );
  });
});
