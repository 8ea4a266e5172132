/**
 * The Entra backend through the real @azure/msal-node against a local authority speaking
 * Entra's on-behalf-of protocol (oidc-provider, in process). MSAL refuses http
 * authorities, so the authority serves https with a self-signed certificate made by
 * openssl; rather than `NODE_EXTRA_CA_CERTS` (read only at process start, so a child
 * process would be needed), the backend's own MSAL network client is given the
 * certificate (`tlsCa`) — which also keeps MSAL's cache inspectable in this process.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { createLocalJWKSet, decodeJwt, type JWK, jwtVerify } from 'jose';
import { signSubjectAssertion } from '../../src/backends/oauth/assertions.js';
import { EntraBackend, type EntraBackendOptions } from '../../src/backends/entra/entra-backend.js';
import { tokensHeld } from '../../src/backends/entra/msal-cache.js';
import { ManualClock } from '../../src/base/clock.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AcContext, OAuthCredential } from '../../src/credentials/types.js';
import { ConfigError } from '../../src/base/errors.js';
import type { AcSigner } from '../../src/base/signer.js';
import { publicJwkOf } from '../../src/governance/did-key.js';
import { acFor } from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';
import { type AuthorizationServer, startAuthorizationServer } from '../helpers/oauth-as.js';
import { startResourceServer } from '../helpers/resource-server.js';

const API = 'https://api.test';
const BROKER_ISSUER = 'urn:bastion:broker';
const MARKER = 'MARKER-2b8d4e6f-entra-claim';
const AGENT_CHAIN = { sub: 'did:key:z6MkAgent' };

const { privateKey } = generateKeyPairSync('ed25519');
const signer: AcSigner = { kid: 'broker-key-1', privateKey };
const brokerJwk: JWK = { ...publicJwkOf(privateKey), kid: signer.kid, alg: 'EdDSA', use: 'sig' };

let as: AuthorizationServer;

before(async () => {
  as = await startAuthorizationServer({
    tls: true,
    brokerJwks: () => ({ keys: [brokerJwk] }),
    brokerIssuer: BROKER_ISSUER,
    resources: { [API]: { scopes: ['read', 'admin'] } },
    // Planted in every token's claims: it must never surface outside the Secret.
    extraClaims: { marker: MARKER },
  });
});

after(async () => {
  await as.close();
});

function backend(overrides: Partial<EntraBackendOptions> = {}): EntraBackend {
  return new EntraBackend({
    authority: `${as.issuer}/`,
    knownAuthorities: [new URL(as.issuer).host],
    protocolMode: 'OIDC',
    clientId: 'broker',
    clientAuth: { method: 'private_key_jwt', signer: () => signer },
    subject: { signer: () => signer, issuer: BROKER_ISSUER },
    tlsCa: as.certPem ?? '',
    ...overrides,
  });
}

/** Records every MSAL client the backend makes, and what its cache held mid-call. */
function recordingFactory() {
  const clients: ConfidentialClientApplication[] = [];
  const cacheWrites: string[] = [];
  const createClient = (configuration: Configuration): ConfidentialClientApplication => {
    const client = new ConfidentialClientApplication({
      ...configuration,
      cache: {
        cachePlugin: {
          beforeCacheAccess: () => Promise.resolve(),
          afterCacheAccess: (context) => {
            if (context.cacheHasChanged) cacheWrites.push(context.tokenCache.serialize());
            return Promise.resolve();
          },
        },
      },
    });
    clients.push(client);
    return client;
  };
  return { clients, cacheWrites, createClient };
}

function ac(overrides: Partial<AcContext> = {}): AcContext {
  return acFor(API, Date.now(), { capabilities: ['read'], capability_mask: 1, ...overrides });
}

const reveal = (c: OAuthCredential): string => c.accessToken.use((b) => b.toString('utf8'));

async function rejection(promise: Promise<unknown>): Promise<CredentialResolutionError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CredentialResolutionError, `not a CredentialResolutionError: ${err}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('entra backend: on-behalf-of through MSAL', () => {
  it('gets an OBO token from the local https authority, for the target, carrying the act chain', async () => {
    const context = ac({ act: AGENT_CHAIN });
    const credential = await backend().resolve('oauth', API, context);
    const token = reveal(credential);
    const { payload } = await jwtVerify(token, createLocalJWKSet(as.jwks()), {
      issuer: as.issuer,
      audience: API,
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, context.principal_did);
    assert.deepEqual(payload['act'], { sub: 'broker', act: AGENT_CHAIN });
    assert.equal(payload['scp'], 'read admin'); // `<target>/.default`: what the app may have
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
    // The backend reports the issuer's lifetime as is; clamping is the resolver's job.
    assert.ok(Math.abs(credential.expiresAt.getTime() - (payload.exp ?? 0) * 1000) <= 1000);
    assert.equal(credential.id, payload.jti);
    assert.deepEqual(credential.scope, [`${API}/read`, `${API}/admin`]);

    const sent = as.tokenRequests.at(-1);
    assert.equal(sent?.grantType, 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    assert.equal(sent.clientAuthMethod, 'private_key_jwt');
    assert.equal(sent.params['requested_token_use'], 'on_behalf_of');
    assert.match(sent.params['scope'] ?? '', new RegExp(`(^| )${API}/\\.default( |$)`));
    const assertion = decodeJwt(sent.params['assertion'] ?? '');
    assert.equal(assertion.iss, BROKER_ISSUER);
    assert.equal(assertion.sub, context.principal_did);
    assert.equal(assertion.aud, as.issuer);
    assert.ok((assertion.exp ?? 0) - (assertion.iat ?? 0) <= 60);
    const client = decodeJwt(sent.params['client_assertion'] ?? '');
    assert.equal(client.iss, 'broker');
    assert.equal(client.aud, as.tokenEndpoint);

    // A resource server that trusts this authority accepts it.
    const rs = await startResourceServer({
      issuer: as.issuer,
      jwksUri: as.jwksUri,
      audience: API,
      requiredScope: 'read',
      ca: as.certPem ?? '',
    });
    try {
      const r = await fetch(rs.url, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
    } finally {
      await rs.close();
    }
  });

  it('through the resolver: a 1-hour token is clamped to ≤ 5 minutes and marked must-revoke', async () => {
    const { logger, text } = capturedLogger();
    const resolver = new CredentialResolver({ logger });
    resolver.register(backend({ logger }));
    const before = Date.now();
    const credential = await resolver.resolve('oauth', API, ac());
    assert.equal(credential.mustRevoke, true);
    assert.ok(credential.expiresAt.getTime() <= Date.now() + 5 * 60_000);
    assert.ok(credential.expiresAt.getTime() >= before + 5 * 60_000 - 1_000);
    const issuerExpiry = credential.issuerExpiresAt?.getTime() ?? 0;
    assert.ok(Math.abs(issuerExpiry - (before + 3_600_000)) < 5_000, String(issuerExpiry - before));

    await resolver.discard(credential);
    assert.ok(credential.accessToken.disposed);
    assert.match(
      text(),
      /cannot be revoked; the token remains valid at the issuer until its own expiry/,
    );
  });

  it('leaves no token in MSAL’s cache (which did hold it during the call)', async () => {
    const { clients, cacheWrites, createClient } = recordingFactory();
    const b = backend({ createClient });
    const credential = await b.resolve('oauth', API, ac());
    const token = reveal(credential);
    assert.equal(clients.length, 1);
    const client = clients[0] as ConfidentialClientApplication;
    // Control: MSAL cached the token while the call ran, and this scan sees it there.
    assert.ok(cacheWrites.some((s) => s.includes(token)));
    const serialized = client.getTokenCache().serialize();
    assert.ok(!serialized.includes(token));
    assert.ok(!serialized.includes(MARKER));
    const parsed = JSON.parse(serialized) as Record<string, object>;
    for (const section of ['AccessToken', 'RefreshToken', 'IdToken', 'Account']) {
      assert.deepEqual(parsed[section] ?? {}, {}, section);
    }
    assert.deepEqual(Object.keys(client.getTokenCache().getKVStore()), []);
    assert.equal(tokensHeld(client), 0);

    // Each call has its own client: nothing is shared across invocations.
    await b.resolve('oauth', API, ac());
    assert.equal(clients.length, 2);
    assert.notEqual(clients[0], clients[1]);
    assert.equal(tokensHeld(clients[1] as ConfidentialClientApplication), 0);
  });

  it('discovers the authority once, then reuses its metadata', async () => {
    const b = backend();
    const discovery = () =>
      as.requests.filter((r) => r.path === '/.well-known/openid-configuration').length;
    const start = discovery();
    await b.resolve('oauth', API, ac());
    await b.resolve('oauth', API, ac());
    assert.equal(discovery(), start + 1);
    const given = backend({ authorityMetadata: as.metadata });
    const before = discovery();
    await given.resolve('oauth', API, ac());
    assert.equal(discovery(), before);
  });

  it('never lets the planted claim reach an error, a log line, or the credential’s text', async () => {
    const { logger, text } = capturedLogger();
    const resolver = new CredentialResolver({ logger });
    resolver.register(backend({ logger }));
    const credential = await resolver.resolve('oauth', API, ac());
    const token = reveal(credential);
    for (const t of [
      JSON.stringify(credential),
      inspect(credential, { depth: 5 }),
      String(credential.accessToken),
    ]) {
      assert.ok(!t.includes(MARKER));
      assert.ok(!t.includes(token));
    }
    await resolver.discard(credential);

    // A resolver whose clock is past the token's expiry refuses it after issuance: the
    // backend returned a live token, and nothing of it may leak from the refusal.
    const late = new ManualClock(Date.now() + 2 * 3_600_000);
    const lateResolver = new CredentialResolver({ logger, clock: late });
    lateResolver.register(backend({ logger }));
    const err = await rejection(
      lateResolver.resolve(
        'oauth',
        API,
        ac({ expires_at: Math.floor(Date.now() / 1000) + 4 * 3600 }),
      ),
    );
    assert.deepEqual(err.attempts, [{ backend: 'entra', reason: 'expired' }]);
    for (const t of [err.message, JSON.stringify(err), inspect(err), text()]) {
      assert.ok(!t.includes(MARKER), t);
      assert.ok(!t.includes(token), t);
    }
  });

  it('authenticates with a client secret when configured so', async () => {
    const credential = await backend({
      clientId: 'broker-secret',
      clientAuth: { method: 'client_secret_basic', secret: Secret.fromString(as.clientSecret) },
    }).resolve('oauth', API, ac());
    assert.equal(decodeJwt(reveal(credential))['client_id'], 'broker-secret');
    assert.equal(as.tokenRequests.at(-1)?.params['client_assertion'], undefined);
  });

  it('takes a deployment-supplied user assertion, and wipes it after the call', async () => {
    let handed: Secret | undefined;
    const credential = await backend({
      userAssertion: async (a) => {
        handed = Secret.fromString(
          await signSubjectAssertion({
            signer,
            issuer: BROKER_ISSUER,
            audience: as.issuer,
            ac: a,
            now: Date.now(),
          }),
        );
        return handed;
      },
    }).resolve('oauth', API, ac());
    assert.equal(decodeJwt(reveal(credential)).sub, 'did:key:z6MkTestPrincipal');
    assert.ok(handed?.disposed);
  });
});

describe('entra backend: refusals', () => {
  it('a scope the authority refuses is backend_denied, without its text; the cache stays empty', async () => {
    const { logger, text } = capturedLogger();
    const { clients, createClient } = recordingFactory();
    const resolver = new CredentialResolver({ logger });
    resolver.register(
      backend({ logger, createClient, scopesFor: (_c, t) => [`${t}/write`, `${t}/${MARKER}`] }),
    );
    const err = await rejection(resolver.resolve('oauth', API, ac()));
    assert.deepEqual(err.attempts, [{ backend: 'entra', reason: 'backend_denied' }]);
    for (const t of [err.message, JSON.stringify(err), inspect(err), text()]) {
      assert.ok(!t.includes(MARKER), t);
      assert.ok(!t.includes('not allowed'), t);
    }
    assert.match(text(), /"error":"invalid_scope"/);
    assert.equal(tokensHeld(clients[0] as ConfidentialClientApplication), 0);

    const unknown = 'https://unknown.test';
    const other = await rejection(backend().resolve('oauth', unknown, acFor(unknown, Date.now())));
    assert.equal(other.reason, 'backend_denied');
  });

  it('an authority that is down is backend_unavailable', async () => {
    const down = await startAuthorizationServer({
      tls: true,
      brokerJwks: () => ({ keys: [brokerJwk] }),
      resources: { [API]: { scopes: ['read'] } },
    });
    const metadata = down.metadata;
    await down.close();
    for (const extra of [{}, { authorityMetadata: metadata }]) {
      const err = await rejection(
        backend({
          authority: `${down.issuer}/`,
          knownAuthorities: [new URL(down.issuer).host],
          tlsCa: down.certPem ?? '',
          ...extra,
        }).resolve('oauth', API, ac()),
      );
      assert.equal(err.reason, 'backend_unavailable');
    }
  });

  it('refuses an authority whose certificate it does not trust (backend_unavailable)', async () => {
    const { tlsCa: _ca, ...rest } = {
      authority: `${as.issuer}/`,
      knownAuthorities: [new URL(as.issuer).host],
      protocolMode: 'OIDC' as const,
      clientId: 'broker',
      clientAuth: { method: 'private_key_jwt', signer: () => signer } as const,
      subject: { signer: () => signer, issuer: BROKER_ISSUER },
      tlsCa: '',
    };
    const err = await rejection(new EntraBackend(rest).resolve('oauth', API, ac()));
    assert.equal(err.reason, 'backend_unavailable');
  });

  it('revoke never throws and says the token outlives it', async () => {
    const { logger, text } = capturedLogger();
    const b = backend({ logger });
    const credential = await b.resolve('oauth', API, ac());
    await b.revoke(credential);
    credential.accessToken.dispose();
    await b.revoke(credential);
    assert.match(text(), /remains valid at the issuer/);
  });

  it('refuses a configuration it cannot use', () => {
    assert.throws(() => backend({ authority: 'http://127.0.0.1:1/' }), ConfigError);
    assert.throws(
      () =>
        new EntraBackend({
          authority: 'https://login.microsoftonline.com/tenant',
          clientId: 'x',
          clientAuth: { method: 'private_key_jwt', signer: () => signer },
        }),
      ConfigError,
    );
    assert.throws(
      () => backend({ authorityMetadata: '{"token_endpoint":"http://evil.test/t"}' }),
      ConfigError,
    );
  });
});
