/**
 * The token-exchange backend against a real authorization server (oidc-provider, in
 * process) and a real resource server (jose): what the broker sends, what it gets, what
 * the API accepts, and how every failure reaches the caller — as a fixed reason, never the
 * server's own text.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { signSubjectAssertion } from '../../src/backends/oauth/assertions.js';
import { unsafeJwtExpiry } from '../../src/backends/oauth/unverified-jwt.js';
import { formBody } from '../../src/backends/oauth-exchange/form.js';
import {
  OAuthExchangeBackend,
  type OAuthExchangeBackendOptions,
} from '../../src/backends/oauth-exchange/oauth-exchange-backend.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { credentialFingerprint } from '../../src/credentials/fingerprint.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AcContext, OAuthCredential } from '../../src/credentials/types.js';
import { ConfigError } from '../../src/base/errors.js';
import type { AcSigner } from '../../src/base/signer.js';
import { publicJwkOf } from '../../src/governance/did-key.js';
import { acFor } from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';
import { type AuthorizationServer, startAuthorizationServer } from '../helpers/oauth-as.js';
import { type ResourceServer, startResourceServer } from '../helpers/resource-server.js';

const API_A = 'https://api-a.test';
const API_B = 'https://api-b.test';
const OPAQUE = 'https://opaque.test';
const BROKER_ISSUER = 'urn:bastion:broker';
const MARKER = 'MARKER-7f3e9c1a-oauth-exchange';
const AGENT_CHAIN = { sub: 'did:key:z6MkAgent', act: { sub: 'did:key:z6MkOrchestrator' } };

const { privateKey } = generateKeyPairSync('ed25519');
const signer: AcSigner = { kid: 'broker-key-1', privateKey };
const brokerJwk: JWK = { ...publicJwkOf(privateKey), kid: signer.kid, alg: 'EdDSA', use: 'sig' };

let as: AuthorizationServer;
let rsA: ResourceServer;
let rsAdmin: ResourceServer;

before(async () => {
  as = await startAuthorizationServer({
    brokerJwks: () => ({ keys: [brokerJwk] }),
    brokerIssuer: BROKER_ISSUER,
    resources: {
      [API_A]: { scopes: ['read', 'admin'] },
      [API_B]: { scopes: ['read'] },
      [OPAQUE]: { scopes: ['read'], format: 'opaque' },
    },
    extraClaims: { marker: MARKER },
  });
  rsA = await startResourceServer({
    issuer: as.issuer,
    jwksUri: as.jwksUri,
    audience: API_A,
    requiredScope: 'read',
  });
  rsAdmin = await startResourceServer({
    issuer: as.issuer,
    jwksUri: as.jwksUri,
    audience: API_A,
    requiredScope: 'admin',
  });
});

after(async () => {
  await rsA.close();
  await rsAdmin.close();
  await as.close();
});

function backend(overrides: Partial<OAuthExchangeBackendOptions> = {}): OAuthExchangeBackend {
  return new OAuthExchangeBackend({
    tokenEndpoint: as.tokenEndpoint,
    revocationEndpoint: as.revocationEndpoint,
    issuer: as.issuer,
    clientId: 'broker',
    clientAuth: { method: 'private_key_jwt', signer: () => signer },
    subject: { signer: () => signer, issuer: BROKER_ISSUER },
    ...overrides,
  });
}

/** An AC for `target` with read and write: the AS offers read (and admin), not write. */
function ac(target: string, overrides: Partial<AcContext> = {}): AcContext {
  return acFor(target, Date.now(), {
    capabilities: ['read', 'write'],
    capability_mask: 5,
    ...overrides,
  });
}

const reveal = (c: OAuthCredential): string => c.accessToken.use((b) => b.toString('utf8'));

async function call(rs: ResourceServer, token: string): Promise<{ status: number; body: any }> {
  const r = await fetch(rs.url + '/things', { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json() };
}

async function rejection(promise: Promise<unknown>): Promise<CredentialResolutionError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CredentialResolutionError, `not a CredentialResolutionError: ${err}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('oauth-exchange backend: token exchange', () => {
  it('yields a token for the target only, scope narrowed, act chain carried, ≤ 5 minutes', async () => {
    const context = ac(API_A, { act: AGENT_CHAIN });
    const credential = await backend().resolve('oauth', API_A, context);
    // Issued before now, so its 5 minutes end before now + 5 minutes. (Not "before the call
    // + 5 minutes": the token's iat is whole seconds, and may fall in the next second.)
    const after = Date.now();
    const token = reveal(credential);

    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(as.jwksUri)),
      {
        issuer: as.issuer,
        audience: API_A,
        typ: 'at+jwt',
      },
    );
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.aud, API_A);
    assert.equal(payload.sub, context.principal_did);
    // read ∩ {read, admin}: write is not offered, admin was not asked for.
    assert.equal(payload['scope'], 'read');
    // The broker is the current actor; the AC's own chain follows it.
    assert.deepEqual(payload['act'], { sub: 'broker', act: AGENT_CHAIN });
    assert.ok((payload.exp ?? 0) - (payload.iat ?? 0) <= 300);

    assert.equal(credential.type, 'oauth');
    assert.equal(credential.target, API_A);
    assert.equal(credential.issuedBy, 'oauth-exchange');
    assert.equal(credential.tokenType, 'Bearer');
    assert.deepEqual(credential.scope, ['read']);
    assert.equal(credential.id, payload.jti);
    assert.ok(credential.expiresAt.getTime() > Date.now());
    assert.ok(credential.expiresAt.getTime() <= after + 300_000);
    assert.ok(credential.expiresAt.getTime() <= (payload.exp ?? 0) * 1000);
    assert.equal(credential.mustRevoke, undefined);
  });

  it('sends RFC 8693 parameters, a 60-second subject assertion and an RFC 7523 client assertion', async () => {
    const context = ac(API_A, { act: AGENT_CHAIN });
    await backend().resolve('oauth', API_A, context);
    const sent = as.tokenRequests.at(-1);
    assert.ok(sent !== undefined);
    assert.equal(sent.grantType, 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(sent.clientAuthMethod, 'private_key_jwt');
    const p = sent.params;
    assert.equal(p['subject_token_type'], 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(p['requested_token_type'], 'urn:ietf:params:oauth:token-type:access_token');
    assert.equal(p['resource'], API_A);
    assert.equal(p['audience'], API_A);
    assert.equal(p['scope'], `${API_A}/read ${API_A}/write`);
    assert.equal(
      p['client_assertion_type'],
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    );

    const subject = decodeJwt(p['subject_token'] ?? '');
    assert.deepEqual(decodeProtectedHeader(p['subject_token'] ?? ''), {
      alg: 'EdDSA',
      typ: 'JWT',
      kid: signer.kid,
    });
    assert.equal(subject.iss, BROKER_ISSUER);
    assert.equal(subject.sub, context.principal_did);
    assert.equal(subject.aud, as.issuer);
    assert.deepEqual(subject['act'], AGENT_CHAIN);
    assert.equal(typeof subject.jti, 'string');
    assert.ok((subject.exp ?? 0) - (subject.iat ?? 0) <= 60);
    // Nothing else of the AC leaves the broker.
    assert.deepEqual(Object.keys(subject).sort(), [
      'act',
      'aud',
      'exp',
      'iat',
      'iss',
      'jti',
      'sub',
    ]);

    const client = decodeJwt(p['client_assertion'] ?? '');
    assert.equal(decodeProtectedHeader(p['client_assertion'] ?? '').alg, 'EdDSA');
    assert.equal(client.iss, 'broker');
    assert.equal(client.sub, 'broker');
    assert.equal(client.aud, as.tokenEndpoint);
    assert.equal(typeof client.jti, 'string');
    assert.ok((client.exp ?? 0) - (client.iat ?? 0) <= 60);
  });

  it('the resource server accepts the token, and refuses one minted for another audience', async () => {
    const forA = await backend().resolve('oauth', API_A, ac(API_A, { act: AGENT_CHAIN }));
    const ok = await call(rsA, reveal(forA));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.sub, 'did:key:z6MkTestPrincipal');
    assert.deepEqual(ok.body.act, { sub: 'broker', act: AGENT_CHAIN });

    const forB = await backend().resolve('oauth', API_B, ac(API_B));
    assert.equal((await call(rsA, reveal(forB))).status, 401);
    // Right audience, but the AC's capabilities never mapped to admin.
    assert.equal((await call(rsAdmin, reveal(forA))).status, 403);
    assert.equal(rsA.seen.at(-1)?.authorization, `Bearer ${reveal(forB)}`);
  });

  it('passes the resolver’s checks and is wiped by discard', async () => {
    const resolver = new CredentialResolver();
    resolver.register(backend());
    const credential = await resolver.resolve('oauth', API_A, ac(API_A));
    assert.ok(Object.isFrozen(credential));
    assert.ok(credential.expiresAt.getTime() <= Date.now() + 5 * 60_000);
    assert.equal(credential.mustRevoke, undefined);
    assert.match(credentialFingerprint(credential).fingerprint, /^[A-Za-z0-9+/=:_-]+$/);
    // The token is a Secret: no text form of the credential shows it, nor its claims.
    const token = reveal(credential);
    for (const text of [JSON.stringify(credential), inspect(credential, { depth: 5 })]) {
      assert.ok(!text.includes(token));
      assert.ok(!text.includes(MARKER));
    }
    await resolver.discard(credential);
    assert.ok(credential.accessToken.disposed);
  });

  it('authenticates with client_secret_basic when configured so', async () => {
    const credential = await backend({
      clientId: 'broker-secret',
      clientAuth: { method: 'client_secret_basic', secret: Secret.fromString(as.clientSecret) },
    }).resolve('oauth', API_A, ac(API_A));
    assert.equal((await call(rsA, reveal(credential))).status, 200);
    assert.equal(as.tokenRequests.at(-1)?.clientAuthMethod, 'client_secret_basic');
    assert.equal(as.tokenRequests.at(-1)?.params['client_assertion'], undefined);

    const wrong = await rejection(
      backend({
        clientId: 'broker-secret',
        clientAuth: { method: 'client_secret_basic', secret: Secret.fromString('not-the-secret') },
      }).resolve('oauth', API_A, ac(API_A)),
    );
    assert.equal(wrong.reason, 'backend_denied');
  });

  it('takes a deployment-supplied user token as the subject, and wipes it after the exchange', async () => {
    const context = ac(API_A);
    let handed: Secret | undefined;
    const credential = await backend({
      subject: {
        tokenType: 'urn:ietf:params:oauth:token-type:jwt',
        userToken: async (a) => {
          const jwt = await signSubjectAssertion({
            signer,
            issuer: BROKER_ISSUER,
            audience: as.issuer,
            ac: a,
            now: Date.now(),
          });
          handed = Secret.fromString(jwt);
          return handed;
        },
      },
    }).resolve('oauth', API_A, context);
    assert.equal((await call(rsA, reveal(credential))).status, 200);
    assert.ok(handed?.disposed);
  });
});

describe('oauth-exchange backend: refusals', () => {
  it('a scope the resource does not offer is backend_denied, without the server’s text', async () => {
    const { logger, text } = capturedLogger();
    const resolver = new CredentialResolver({ logger });
    resolver.register(
      backend({ logger, scopesFor: () => [`${API_A}/write`, `${API_A}/${MARKER}`] }),
    );
    const err = await rejection(resolver.resolve('oauth', API_A, ac(API_A)));
    assert.deepEqual(err.attempts, [{ backend: 'oauth-exchange', reason: 'backend_denied' }]);
    // The server quoted the requested scope back; none of it reaches the error or logs.
    for (const t of [err.message, JSON.stringify(err), inspect(err), text()]) {
      assert.ok(!t.includes(MARKER), t);
      assert.ok(!t.includes('not allowed'), t);
    }
    // Its error code does reach the log: a fixed, checked vocabulary.
    assert.match(text(), /"error":"invalid_scope"/);

    const direct = await rejection(
      backend().resolve('oauth', API_A, ac(API_A, { capabilities: ['write'] })),
    );
    assert.equal(direct.reason, 'backend_denied');
  });

  it('an unknown resource is backend_denied', async () => {
    const unknown = 'https://unknown.test';
    const err = await rejection(backend().resolve('oauth', unknown, ac(unknown)));
    assert.equal(err.reason, 'backend_denied');
  });

  it('an authorization server that is down, or silent past the timeout, is backend_unavailable', async () => {
    const down = await startAuthorizationServer({
      brokerJwks: () => ({ keys: [brokerJwk] }),
      resources: { [API_A]: { scopes: ['read'] } },
    });
    await down.close();
    const err = await rejection(
      backend({ tokenEndpoint: down.tokenEndpoint, issuer: down.issuer }).resolve(
        'oauth',
        API_A,
        ac(API_A),
      ),
    );
    assert.equal(err.reason, 'backend_unavailable');

    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/token`;
      const started = Date.now();
      const slow = await rejection(
        backend({ tokenEndpoint: url, timeoutMs: 300 }).resolve('oauth', API_A, ac(API_A)),
      );
      assert.equal(slow.reason, 'backend_unavailable');
      assert.ok(Date.now() - started < 5_000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('refuses input it cannot turn into a resource indicator or a scope', async () => {
    const host = 'db1.internal.test';
    assert.equal(
      (await rejection(backend().resolve('oauth', host, ac(host)))).reason,
      'invalid_credential_request',
    );
    assert.equal(
      (await rejection(backend({ scopesFor: () => [] }).resolve('oauth', API_A, ac(API_A)))).reason,
      'invalid_credential_request',
    );
    assert.equal(
      (
        await rejection(
          backend({ scopesFor: () => ['has space'] }).resolve('oauth', API_A, ac(API_A)),
        )
      ).reason,
      'invalid_credential_request',
    );
    assert.equal(
      (await rejection(backend().resolve('ssh_cert', API_A, ac(API_A)))).reason,
      'invalid_credential_request',
    );
    assert.throws(
      () => backend({ tokenEndpoint: 'http://as.example.test/token' }),
      (e: unknown) => e instanceof ConfigError,
    );
  });
});

describe('oauth-exchange backend: strict replies', () => {
  /** A fake token endpoint answering `reply`, recording revocation calls. */
  function scripted(
    reply: { status?: number; type?: string; body: unknown },
    overrides: Partial<OAuthExchangeBackendOptions> = {},
  ) {
    const revoked: string[] = [];
    const fake: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.endsWith('/revoke')) {
        revoked.push(Buffer.from(init?.body as Uint8Array).toString('utf8'));
        return Promise.resolve(new Response('', { status: 200 }));
      }
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      return Promise.resolve(
        new Response(body, {
          status: reply.status ?? 200,
          headers: { 'content-type': reply.type ?? 'application/json' },
        }),
      );
    };
    const b = backend({
      tokenEndpoint: 'https://as.example.test/token',
      revocationEndpoint: 'https://as.example.test/revoke',
      fetch: fake,
      ...overrides,
    });
    return { b, revoked };
  }
  const good = {
    access_token: 'opaque-token-value',
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: 120,
    scope: 'read',
  };

  it('accepts a well-formed reply, and trusts a JWT’s own exp over a longer expires_in', async () => {
    const { b } = scripted({ body: good });
    const c = await b.resolve('oauth', API_A, ac(API_A));
    assert.ok(Math.abs(c.expiresAt.getTime() - (Date.now() + 120_000)) < 2_000);

    const exp = Math.floor(Date.now() / 1000) + 30;
    const jwt = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ exp, jti: 'jwt-id-1' }),
    ).toString('base64url')}.c2ln`;
    assert.equal(unsafeJwtExpiry(jwt), exp);
    const { b: b2 } = scripted({ body: { ...good, access_token: jwt, expires_in: 300 } });
    const c2 = await b2.resolve('oauth', API_A, ac(API_A));
    assert.equal(c2.expiresAt.getTime(), exp * 1000);
    assert.equal(c2.id, 'jwt-id-1');
  });

  const off = { senderConstrained: 'off' } as const;
  const required = { senderConstrained: 'required' } as const;
  for (const [name, body, reason, overrides] of [
    [
      'a refresh token',
      { ...good, issued_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      'backend_error',
    ],
    ['no issued_token_type', { ...good, issued_token_type: undefined }, 'backend_error'],
    ['no lifetime', { ...good, expires_in: undefined }, 'backend_error'],
    // Bound to a key the broker never made (it sent no proof).
    ['a DPoP-bound token when off', { ...good, token_type: 'DPoP' }, 'backend_error', off],
    ['a bearer token when DPoP is required', good, 'backend_error', required],
    ['a scope broader than asked', { ...good, scope: 'read admin' }, 'backend_error'],
  ] as const) {
    it(`refuses ${name}, revoking what was issued`, async () => {
      const { b, revoked } = scripted({ body }, overrides);
      const err = await rejection(b.resolve('oauth', API_A, ac(API_A)));
      assert.equal(err.reason, reason);
      assert.equal(revoked.length, 1);
      assert.match(revoked[0] ?? '', /^token=opaque-token-value&token_type_hint=access_token&/);
    });
  }

  for (const [name, reply, reason] of [
    [
      '401 invalid_client',
      { status: 401, body: { error: 'invalid_client', error_description: MARKER } },
      'backend_denied',
    ],
    ['403', { status: 403, body: { error: 'access_denied' } }, 'backend_denied'],
    ['503', { status: 503, body: { error: 'temporarily_unavailable' } }, 'backend_unavailable'],
    ['429', { status: 429, body: { error: 'slow_down' } }, 'backend_unavailable'],
    ['404', { status: 404, body: 'not here', type: 'text/plain' }, 'backend_error'],
    ['a non-JSON 200', { body: MARKER, type: 'text/html' }, 'backend_error'],
    ['a JSON array', { body: [good] }, 'backend_error'],
  ] as const) {
    it(`maps ${name} to ${reason}`, async () => {
      const { b } = scripted(reply);
      const err = await rejection(b.resolve('oauth', API_A, ac(API_A)));
      assert.equal(err.reason, reason);
      assert.ok(!err.message.includes(MARKER));
    });
  }

  it('form-encodes a Secret from its bytes', () => {
    const body = formBody([
      ['token', Secret.fromString('a b+c/é')],
      ['hint', 'x'],
    ]);
    assert.equal(body.toString('utf8'), 'token=a+b%2Bc%2F%C3%A9&hint=x');
  });
});

describe('oauth-exchange backend: revocation', () => {
  it('revokes an opaque token at the server: introspection says inactive afterwards', async () => {
    const resolver = new CredentialResolver();
    resolver.register(backend());
    const credential = await resolver.resolve('oauth', OPAQUE, ac(OPAQUE));
    const token = reveal(credential);
    assert.equal((await as.introspect(token)).active, true);
    const revocations = as.requests.filter((r) => r.path === '/token/revocation').length;

    await resolver.discard(credential);
    assert.ok(credential.accessToken.disposed);
    assert.equal(as.requests.filter((r) => r.path === '/token/revocation').length, revocations + 1);
    assert.equal((await as.introspect(token)).active, false);
  });

  it('never throws: a server that is down, or no endpoint at all, is logged and let go', async () => {
    const { logger, text } = capturedLogger();
    const credential = await backend().resolve('oauth', OPAQUE, ac(OPAQUE));
    const b = backend({ revocationEndpoint: 'http://127.0.0.1:9/revoke', logger });
    await b.revoke({ ...credential, issuedBy: b.id });
    assert.match(text(), /token revocation failed/);
    assert.ok(!text().includes(reveal(credential)));
    const { revocationEndpoint: _none, ...withoutEndpoint } = {
      tokenEndpoint: as.tokenEndpoint,
      revocationEndpoint: as.revocationEndpoint,
      issuer: as.issuer,
      clientId: 'broker',
      clientAuth: { method: 'private_key_jwt', signer: () => signer } as const,
      subject: { signer: () => signer, issuer: BROKER_ISSUER },
    };
    await new OAuthExchangeBackend(withoutEndpoint).revoke(credential);
    assert.equal((await as.introspect(reveal(credential))).active, true);
  });
});
