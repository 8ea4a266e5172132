/**
 * The spire backend against a real SPIRE (server + agent, test/helpers/spire.ts): JWT-SVIDs
 * for the target as audience, which the agent itself validates for that audience only, with
 * exactly one audience that a JOSE verifier for another target refuses (#17);
 * the identity mapped per principal, and a SPIFFE ID the broker is not registered for
 * refused by the agent; an SVID that outlives the window clamped by the resolver; an
 * X.509-SVID whose certificate certifies its key and chains to its bundle; and the agent
 * going away. Skipped where SPIRE is not built, unless CI is set.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, errors, jwtVerify } from 'jose';
import { SpireBackend } from '../../src/backends/spire/spire-backend.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { acFor } from '../helpers/backends.js';
import {
  type Spire,
  spireSkip,
  startSpire,
  type TestWorkload,
  testWorkload,
} from '../helpers/spire.js';

const skip = spireSkip();
const ME = 'spiffe://example.org/bastion';
const LONG = 'spiffe://example.org/bastion/long-lived';
const TARGET = 'https://api.internal.test';
const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const MALLORY = 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG';

const reason = (expected: string) => (e: unknown) =>
  e instanceof CredentialResolutionError && e.reason === expected;

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;

describe('spire backend against a real SPIRE', { skip }, () => {
  let spire: Spire;
  let workload: TestWorkload;
  let backend: SpireBackend;

  before(async () => {
    spire = await startSpire({
      entries: [{ spiffeId: ME }, { spiffeId: LONG, jwtTtlSeconds: 3600 }],
    });
    workload = testWorkload(spire.socket);
    backend = new SpireBackend({
      socket: spire.socket,
      spiffeId: ME,
      identities: [
        { principals: [ALICE], spiffeId: LONG },
        { principals: [MALLORY], spiffeId: 'spiffe://example.org/not-registered' },
      ],
      timeoutMs: 10_000,
    });
  });
  after(async () => {
    await backend?.close();
    workload?.close();
    await spire?.stop();
  });

  it('issues a JWT-SVID for the target as audience, which the agent validates for it only', async () => {
    const c = await backend.resolve('oauth', TARGET, acFor(TARGET, Date.now()));
    const token = c.accessToken.unsafeReveal().toString();
    const claims = claimsOf(token);
    assert.equal(claims['sub'], ME);
    assert.equal(c.expiresAt.getTime(), (claims['exp'] as number) * 1000);
    assert.equal(await workload.validate(TARGET, token), ME);
    await assert.rejects(
      workload.validate('https://other.internal.test', token),
      /INVALID_ARGUMENT/,
    );
  });

  it('a JWT-SVID has exactly one audience: a JOSE verifier for another target refuses it (#17)', async () => {
    const OTHER = 'https://other.internal.test';
    const jwks = createLocalJWKSet(await workload.jwks());
    const one = await backend.resolve('oauth', TARGET, acFor(TARGET, Date.now()));
    const two = await backend.resolve('oauth', OTHER, acFor(OTHER, Date.now()));
    try {
      const token = one.accessToken.unsafeReveal().toString();
      // SPIRE writes aud as a list: here a list of exactly the target.
      assert.deepEqual(claimsOf(token)['aud'], [TARGET]);
      assert.deepEqual(claimsOf(two.accessToken.unsafeReveal().toString())['aud'], [OTHER]);
      // Verified apart from the agent: the trust domain's keys, the audience a target checks.
      const verified = await jwtVerify(token, jwks, { audience: TARGET });
      assert.equal(verified.payload.sub, ME);
      await assert.rejects(
        jwtVerify(token, jwks, { audience: OTHER }),
        errors.JWTClaimValidationFailed,
      );
      // Each SVID is refused by the other target's verifier, the agent's included.
      await assert.rejects(
        workload.validate(TARGET, two.accessToken.unsafeReveal().toString()),
        /INVALID_ARGUMENT/,
      );
    } finally {
      one.accessToken.dispose();
      two.accessToken.dispose();
    }
  });

  it('acts as the SPIFFE ID mapped to the principal; one it is not registered for is denied', async () => {
    const c = await backend.resolve(
      'oauth',
      TARGET,
      acFor(TARGET, Date.now(), { principal_did: ALICE }),
    );
    assert.equal(claimsOf(c.accessToken.unsafeReveal().toString())['sub'], LONG);
    await assert.rejects(
      backend.resolve('oauth', TARGET, acFor(TARGET, Date.now(), { principal_did: MALLORY })),
      reason('backend_denied'),
    );
  });

  it('an SVID that outlives the window (its entry says 1 h) is clamped by the resolver, must-revoke', async () => {
    const resolver = new CredentialResolver();
    resolver.register(backend);
    const started = Date.now();
    const c = await resolver.resolve(
      'oauth',
      TARGET,
      acFor(TARGET, started, { principal_did: ALICE }),
    );
    const exp = (claimsOf(c.accessToken.unsafeReveal().toString())['exp'] as number) * 1000;
    assert.ok(exp > started + 30 * 60_000, 'SPIRE issued it for much longer than the window');
    assert.equal(c.mustRevoke, true);
    assert.equal(c.issuerExpiresAt?.getTime(), exp);
    assert.ok(c.expiresAt.getTime() <= Date.now() + resolver.maxTtlMs);
    await resolver.discard(c);
    assert.equal(c.accessToken.disposed, true);
  });

  it('issues an X.509-SVID: its certificate names the identity, certifies the key, chains to the bundle', async () => {
    const c = await backend.resolve('x509_svid', TARGET, acFor(TARGET, Date.now()));
    assert.equal(c.spiffeId, ME);
    const leaf = new X509Certificate(c.certificateChain);
    assert.equal(leaf.subjectAltName, `URI:${ME}`);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(c.privateKey.unsafeReveal())));
    const root = new X509Certificate(c.bundle ?? '');
    assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey), 'signed by the trust domain');
    assert.equal(c.expiresAt.getTime(), new Date(leaf.validTo).getTime());
    c.privateKey.dispose();
  });

  it('with the agent gone, resolution is backend_unavailable', async () => {
    await spire.stopAgent();
    await assert.rejects(
      backend.resolve('oauth', TARGET, acFor(TARGET, Date.now())),
      reason('backend_unavailable'),
    );
    await assert.rejects(
      backend.resolve('x509_svid', TARGET, acFor(TARGET, Date.now())),
      reason('backend_unavailable'),
    );
  });
});
