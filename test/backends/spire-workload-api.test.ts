/**
 * The spire backend against a fake Workload API on a unix socket (test/helpers/
 * fake-workload-api.ts), for what a real agent cannot be made to do: no socket, no answer,
 * a chosen gRPC status, malformed and oversized replies. Each refusal here is a check the
 * backend makes; the real agent's side is spire.test.ts.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { SpireBackend, type SpireBackendOptions } from '../../src/backends/spire/spire-backend.js';
import { MAX_REPLY_BYTES } from '../../src/backends/spire/workload-api.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { acFor } from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';
import { type FakeWorkloadApi, startFakeWorkloadApi } from '../helpers/fake-workload-api.js';
import { type TestCa, testCa } from '../helpers/x509.js';

const TARGET = 'https://api.internal.test';
const ME = 'spiffe://example.org/bastion';
const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** A JWT-SVID as SPIRE makes one (ES256, aud a single string), with claims to override. */
function jwtSvid(claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: ME, aud: TARGET, exp: now + 300, iat: now, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
    .sign(signingKey);
}

const reason = (expected: string) => (e: unknown) =>
  e instanceof CredentialResolutionError && e.reason === expected;

describe('spire backend: the Workload API client and what it accepts', () => {
  let fake: FakeWorkloadApi;
  let ca: TestCa;
  const backends: SpireBackend[] = [];
  const backend = (options: Partial<SpireBackendOptions> = {}) => {
    const b = new SpireBackend({ socket: fake.socket, spiffeId: ME, timeoutMs: 5_000, ...options });
    backends.push(b);
    return b;
  };

  before(async () => {
    fake = await startFakeWorkloadApi();
    ca = testCa();
  });
  beforeEach(() => {
    fake.calls.length = 0;
  });
  after(async () => {
    for (const b of backends) await b.close();
    await fake.close();
    ca.remove();
  });

  it('asks with the security header for the target as audience, as the mapped identity', async () => {
    const token = await jwtSvid();
    fake.jwt = () => ({ svids: [{ spiffe_id: ME, svid: token, hint: '' }] });
    const c = await backend().resolve('oauth', TARGET, acFor(TARGET, Date.now()));
    assert.deepEqual(fake.calls[0]?.request, { audience: [TARGET], spiffe_id: ME });
    assert.equal(c.type, 'oauth');
    assert.equal(c.tokenType, 'Bearer');
    assert.equal(c.accessToken.unsafeReveal().toString(), token);
    assert.equal(c.issuedBy, 'spire');
    assert.equal(
      c.expiresAt.getTime() / 1000,
      JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).exp,
    );
    assert.doesNotMatch(
      JSON.stringify(c),
      new RegExp(token.split('.')[2] ?? 'x'),
      'the token is in a Secret',
    );
  });

  it('maps the audience per target pattern and the identity per principal', async () => {
    const other = 'spiffe://example.org/bastion/ops';
    const alice = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
    const b = backend({
      audiences: [{ targets: ['https://*.internal.test'], audience: 'spiffe://example.org/api' }],
      identities: [{ principals: [alice], spiffeId: other }],
    });
    const token = await jwtSvid({ sub: other, aud: ['spiffe://example.org/api'] });
    fake.jwt = () => ({ svids: [{ spiffe_id: other, svid: token }] });
    const c = await b.resolve('oauth', TARGET, acFor(TARGET, Date.now(), { principal_did: alice }));
    assert.deepEqual(fake.calls[0]?.request, {
      audience: ['spiffe://example.org/api'],
      spiffe_id: other,
    });
    assert.match(
      c.scopedTo,
      /spiffe:\/\/example\.org\/bastion\/ops for audience spiffe:\/\/example\.org\/api/,
    );
  });

  it('refuses a target that is no audience (a bare host) before calling the agent', async () => {
    await assert.rejects(
      backend().resolve('oauth', 'api.internal.test', acFor('api.internal.test', Date.now())),
      reason('unsupported_target'),
    );
    assert.equal(fake.calls.length, 0);
  });

  it("issues only for its `targets`, and only for the AC's own target, before calling the agent", async () => {
    const token = await jwtSvid();
    fake.jwt = () => ({ svids: [{ spiffe_id: ME, svid: token }] });
    const b = backend({ targets: [TARGET] });
    const other = 'https://other.internal.test';
    await assert.rejects(
      b.resolve('oauth', other, acFor(other, Date.now())),
      reason('invalid_credential_request'),
    );
    await assert.rejects(
      b.resolve('x509_svid', other, acFor(other, Date.now())),
      reason('invalid_credential_request'),
    );
    await assert.rejects(
      b.resolve('oauth', TARGET, acFor(other, Date.now())),
      reason('invalid_credential_request'),
    );
    assert.equal(fake.calls.length, 0);
    await b.resolve('oauth', TARGET, acFor(TARGET, Date.now())); // control: its own target
    assert.equal(fake.calls.length, 1);
  });

  it('a missing socket is backend_unavailable', async () => {
    const b = backend({ socket: `${fake.socket}.missing` });
    await assert.rejects(
      b.resolve('oauth', TARGET, acFor(TARGET, Date.now())),
      reason('backend_unavailable'),
    );
  });

  it('an agent that does not answer is cut off at the deadline, and the call cancelled', async () => {
    fake.jwt = () => 'hang';
    await assert.rejects(
      backend({ timeoutMs: 200 }).resolve('oauth', TARGET, acFor(TARGET, Date.now())),
      reason('backend_unavailable'),
    );
    assert.equal(fake.calls.length, 1);
    await fake.calls[0]?.whenCancelled;
  });

  it("the resolver's abort signal cancels a call in flight, unary and streaming", async () => {
    fake.jwt = () => 'hang';
    fake.x509 = () => 'hang';
    for (const type of ['oauth', 'x509_svid'] as const) {
      const { logger, text } = capturedLogger();
      const controller = new AbortController();
      const arrived = fake.nextCall();
      const pending = backend({ logger }).resolve(
        type,
        TARGET,
        acFor(TARGET, Date.now()),
        controller.signal,
      );
      const call = await arrived;
      controller.abort();
      await assert.rejects(pending, reason('backend_unavailable'));
      await call.whenCancelled; // the agent saw the call cancelled (else this never resolves)
      // Ended by the abort, not by the call's own deadline.
      assert.match(text(), /"grpc":"CANCELLED"/, type);
      assert.doesNotMatch(text(), /DEADLINE_EXCEEDED/, type);
    }
  });

  it("maps the agent's status to a fixed reason, never its text", async () => {
    const cases: [number, string][] = [
      [status.PERMISSION_DENIED, 'backend_denied'],
      [status.INVALID_ARGUMENT, 'invalid_credential_request'],
      [status.UNAVAILABLE, 'backend_unavailable'],
      [status.INTERNAL, 'backend_error'],
    ];
    for (const [code, expected] of cases) {
      fake.jwt = () => ({ code });
      await assert.rejects(
        backend().resolve('oauth', TARGET, acFor(TARGET, Date.now())),
        reason(expected),
      );
    }
  });

  it('refuses malformed JWT-SVID replies', async () => {
    const now = Math.floor(Date.now() / 1000);
    const replies: [string, Record<string, unknown>][] = [
      ['no SVID', { svids: [] }],
      ['not a JWS', { svids: [{ spiffe_id: ME, svid: 'not-a-jwt' }] }],
      [
        'another identity than asked',
        {
          svids: [
            {
              spiffe_id: 'spiffe://example.org/x',
              svid: await jwtSvid({ sub: 'spiffe://example.org/x' }),
            },
          ],
        },
      ],
      [
        'an ID that is no SPIFFE ID',
        {
          svids: [
            {
              spiffe_id: 'https://example.org/bastion',
              svid: await jwtSvid({ sub: 'https://example.org/bastion' }),
            },
          ],
        },
      ],
      [
        'sub is not the SPIFFE ID',
        { svids: [{ spiffe_id: ME, svid: await jwtSvid({ sub: 'spiffe://example.org/other' }) }] },
      ],
      [
        'another audience',
        { svids: [{ spiffe_id: ME, svid: await jwtSvid({ aud: 'https://other.test' }) }] },
      ],
      [
        'an extra audience',
        {
          svids: [{ spiffe_id: ME, svid: await jwtSvid({ aud: [TARGET, 'https://other.test'] }) }],
        },
      ],
      ['no exp', { svids: [{ spiffe_id: ME, svid: await jwtSvid({ exp: undefined }) }] }],
      [
        'exp not a number',
        { svids: [{ spiffe_id: ME, svid: await jwtSvid({ exp: String(now + 300) }) }] },
      ],
      ['already expired', { svids: [{ spiffe_id: ME, svid: await jwtSvid({ exp: now - 1 }) }] }],
    ];
    for (const [why, reply] of replies) {
      fake.jwt = () => reply;
      await assert.rejects(
        backend().resolve('oauth', TARGET, acFor(TARGET, Date.now())),
        reason('backend_error'),
        why,
      );
    }
  });

  it('refuses an oversized reply: gRPC stops reading at MAX_REPLY_BYTES', async () => {
    const { logger, text } = capturedLogger();
    // A real JWT-SVID padded past the bound with an extra field of the reply.
    const token = await jwtSvid();
    fake.jwt = () => ({
      svids: [{ spiffe_id: ME, svid: token, hint: 'h'.repeat(MAX_REPLY_BYTES) }],
    });
    await assert.rejects(
      backend({ logger }).resolve('oauth', TARGET, acFor(TARGET, Date.now())),
      reason('backend_error'),
    );
    // Refused by the size limit itself, not by a later check of what was read.
    assert.match(text(), /"grpc":"RESOURCE_EXHAUSTED"/);
    fake.jwt = () => ({ svids: [{ spiffe_id: ME, svid: token, hint: 'h'.repeat(1024) }] });
    await backend().resolve('oauth', TARGET, acFor(TARGET, Date.now())); // control: in bounds
  });

  it('an SVID that outlives the window is clamped to it by the resolver and marked must-revoke', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = await jwtSvid({ exp });
    fake.jwt = () => ({ svids: [{ spiffe_id: ME, svid: token }] });
    const resolver = new CredentialResolver();
    resolver.register(backend());
    const before = Date.now();
    const c = await resolver.resolve('oauth', TARGET, acFor(TARGET, Date.now()));
    assert.equal(c.mustRevoke, true);
    assert.equal(c.issuerExpiresAt?.getTime(), exp * 1000);
    assert.ok(c.expiresAt.getTime() <= Date.now() + resolver.maxTtlMs, 'within the window');
    assert.ok(c.expiresAt.getTime() >= before + resolver.maxTtlMs, 'the whole window');
    await resolver.discard(c);
    assert.equal(c.accessToken.disposed, true);
  });

  describe('X.509-SVIDs', () => {
    const svid = (
      leaf: { certDer: Buffer; keyDer: Buffer },
      extra: Record<string, unknown> = {},
    ) => ({
      spiffe_id: ME,
      x509_svid: leaf.certDer,
      x509_svid_key: leaf.keyDer,
      bundle: ca.certDer,
      hint: '',
      ...extra,
    });

    it('takes the SVID of its identity from the stream: chain, key as PEM in a Secret, bundle', async () => {
      const mine = ca.issue({ uris: [ME] });
      const other = ca.issue({ uris: ['spiffe://example.org/api'], dns: ['localhost'] });
      fake.x509 = () => ({
        svids: [svid(other, { spiffe_id: 'spiffe://example.org/api' }), svid(mine)],
      });
      const c = await backend().resolve('x509_svid', TARGET, acFor(TARGET, Date.now()));
      assert.equal(c.spiffeId, ME);
      assert.equal(c.certificateChain, mine.certPem);
      assert.equal(c.bundle, ca.certPem);
      const pem = c.privateKey.unsafeReveal().toString();
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.deepEqual(createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' }), mine.keyDer);
      await fake.calls.at(-1)?.whenCancelled; // the stream is closed after the first message
      const system = await backend({ x509VerifyTarget: 'system' }).resolve(
        'x509_svid',
        TARGET,
        acFor(TARGET, Date.now()),
      );
      assert.equal(system.bundle, undefined, 'verify_target: system hands on no bundle');
    });

    it('refuses malformed X.509-SVID replies', async () => {
      const good = ca.issue({ uris: [ME] });
      const cases: [string, Record<string, unknown>][] = [
        ['no certificate', svid(good, { x509_svid: Buffer.alloc(0) })],
        ['garbage for a chain', svid(good, { x509_svid: Buffer.from('not DER at all') })],
        [
          'a chain with trailing bytes',
          svid(good, { x509_svid: Buffer.concat([good.certDer, Buffer.from([0x30])]) }),
        ],
        [
          'a key the certificate does not certify',
          svid(good, { x509_svid_key: ca.issue({ uris: [ME] }).keyDer }),
        ],
        ['no key', svid(good, { x509_svid_key: Buffer.alloc(0) })],
        [
          'another SPIFFE ID in the certificate',
          svid(ca.issue({ uris: ['spiffe://example.org/x'] })),
        ],
        ['two URI SANs', svid(ca.issue({ uris: [ME, 'spiffe://example.org/x'] }))],
        ['no bundle', svid(good, { bundle: Buffer.alloc(0) })],
      ];
      for (const [why, entry] of cases) {
        fake.x509 = () => ({ svids: [entry] });
        await assert.rejects(
          backend().resolve('x509_svid', TARGET, acFor(TARGET, Date.now())),
          reason('backend_error'),
          why,
        );
      }
    });
  });

  it('revoke is a no-op that says SVIDs cannot be revoked, and never throws', async () => {
    const { logger, text } = capturedLogger();
    const token = await jwtSvid();
    fake.jwt = () => ({ svids: [{ spiffe_id: ME, svid: token }] });
    const b = backend({ logger });
    const c = await b.resolve('oauth', TARGET, acFor(TARGET, Date.now()));
    await b.revoke(c);
    assert.match(text(), /cannot be revoked; this one remains valid until its own expiry/);
    assert.doesNotMatch(text(), new RegExp(token.split('.')[2] ?? 'x'));
    assert.equal(c.accessToken.disposed, false, 'revoke does not wipe: discard does, after it');
  });
});
