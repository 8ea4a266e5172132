/**
 * Sender-constrained tokens (RFC 9449 DPoP) from the token-exchange backend, end to end
 * against a real authorization server (oidc-provider with features.dPoP) and a resource
 * server that checks DPoP-bound tokens (test/helpers/resource-server.ts): the broker's
 * per-invocation key gets a token bound to it (`cnf.jkt`), the HTTP connector sends it
 * with a fresh proof per request, and the same token is worthless without that key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, type JWK } from 'jose';
import {
  OAuthExchangeBackend,
  type OAuthExchangeBackendOptions,
} from '../../src/backends/oauth-exchange/oauth-exchange-backend.js';
import { replyFields } from '../../src/backends/oauth-exchange/token-exchange.js';
import type { AcSigner } from '../../src/base/signer.js';
import { HttpConnector, type HttpOperation } from '../../src/connectors/http/connector.js';
import type { RunContext } from '../../src/connectors/connector.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { credentialFingerprint } from '../../src/credentials/fingerprint.js';
import { disposeCredential, type OAuthCredential } from '../../src/credentials/types.js';
import { publicJwkOf } from '../../src/governance/did-key.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { acFor } from '../helpers/backends.js';
import {
  type AuthorizationServer,
  type ResourceConfig,
  startAuthorizationServer,
} from '../helpers/oauth-as.js';
import { type ResourceServer, startResourceServer } from '../helpers/resource-server.js';
import { dpopAttempts } from '../helpers/stolen-credential.js';

const BROKER_ISSUER = 'urn:bastion:broker';
const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const { privateKey } = generateKeyPairSync('ed25519');
const signer: AcSigner = { kid: 'broker-key-1', privateKey };
const brokerJwk: JWK = { ...publicJwkOf(privateKey), kid: signer.kid, alg: 'EdDSA', use: 'sig' };

let dpopAs: AuthorizationServer;
let bearerAs: AuthorizationServer;
/** The APIs trusting each server; their URLs are the resources (and the targets). */
let dpopApi: ResourceServer;
let bearerApi: ResourceServer;
const resources: Record<string, ResourceConfig> = {};

before(async () => {
  const common = { brokerJwks: () => ({ keys: [brokerJwk] }), brokerIssuer: BROKER_ISSUER };
  dpopAs = await startAuthorizationServer({ ...common, resources, dpop: true });
  bearerAs = await startAuthorizationServer({ ...common, resources });
  const api = (as: AuthorizationServer) =>
    startResourceServer({ issuer: as.issuer, jwksUri: as.jwksUri, requiredScope: 'read' });
  dpopApi = await api(dpopAs);
  bearerApi = await api(bearerAs);
  for (const { url } of [dpopApi, bearerApi]) resources[url] = { scopes: ['read'] };
});

after(async () => {
  await dpopApi.close();
  await bearerApi.close();
  await dpopAs.close();
  await bearerAs.close();
});

function backend(
  as: AuthorizationServer,
  overrides: Partial<OAuthExchangeBackendOptions> = {},
): OAuthExchangeBackend {
  return new OAuthExchangeBackend({
    tokenEndpoint: as.tokenEndpoint,
    issuer: as.issuer,
    clientId: 'broker',
    clientAuth: { method: 'private_key_jwt', signer: () => signer },
    subject: { signer: () => signer, issuer: BROKER_ISSUER },
    ...overrides,
  });
}

const resolve = (as: AuthorizationServer, api: ResourceServer, o = {}): Promise<OAuthCredential> =>
  backend(as, o).resolve('oauth', api.url, acFor(api.url, Date.now()));

const reveal = (c: OAuthCredential): string => c.accessToken.use((b) => b.toString('utf8'));

/** The HTTP connector's GET of /things at `target` with `credential`, as a session runs it. */
function get(target: string, credential: OAuthCredential): Promise<HttpResult> {
  const connector = new HttpConnector();
  const ctx: RunContext<HttpOperation> = {
    credential,
    target,
    operation: connector.parseOperation({ method: 'GET', path: '/things' }),
    acContext: acFor(target, Date.now(), { connector: 'http' }),
    limits: { maxOutputBytes: 64 * 1024, timeoutMs: 5_000 },
    signal: new AbortController().signal,
  };
  return connector.run(ctx);
}

describe('oauth-exchange: DPoP-bound tokens (RFC 9449)', () => {
  it('asks with a per-invocation key and gets a token bound to it (cnf.jkt)', async () => {
    const a = await resolve(dpopAs, dpopApi);
    const b = await resolve(dpopAs, dpopApi);
    assert.equal(a.tokenType, 'DPoP');
    assert.ok(a.dpop !== undefined && b.dpop !== undefined);
    assert.deepEqual(decodeJwt(reveal(a))['cnf'], { jkt: a.dpop.jkt });
    // A new invocation, a new key.
    assert.notEqual(a.dpop.jkt, b.dpop.jkt);
    assert.equal(credentialFingerprint(a).sender_constraint, 'dpop');
    // The key is zero-filled together with the token.
    disposeCredential(a);
    assert.ok(a.accessToken.disposed && a.dpop.seed.disposed);
    disposeCredential(b);
  });

  it('the HTTP connector sends DPoP <token> with a fresh proof per request; the API accepts', async () => {
    const credential = await resolve(dpopAs, dpopApi);
    const first = await get(dpopApi.url, credential);
    const second = await get(dpopApi.url, credential);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const [x, y] = dpopApi.seen.slice(-2);
    assert.equal(x?.authorization, `DPoP ${reveal(credential)}`);
    assert.equal(y?.authorization, `DPoP ${reveal(credential)}`);
    assert.ok(x?.dpop !== undefined && y?.dpop !== undefined && x.dpop !== y.dpop);
    disposeCredential(credential);
  });

  it('the captured token is refused as Bearer, with another key’s proof, or a replayed proof', async () => {
    const credential = await resolve(dpopAs, dpopApi);
    assert.equal((await get(dpopApi.url, credential)).status, 200);
    const token = reveal(credential);
    const captured = dpopApi.seen.at(-1)?.dpop ?? '';
    // The control, last: a fresh proof with the bound key is what makes it work.
    const statuses = await dpopAttempts(dpopApi.url + '/things', token, captured, credential.dpop);
    assert.deepEqual(statuses, {
      bearer: 401,
      noProof: 401,
      otherKey: 401,
      replayedProof: 401,
      boundKey: 200,
    });
    disposeCredential(credential);
  });
});

describe('oauth-exchange: sender_constrained required | preferred | off', () => {
  it('required refuses a bearer token from a server without DPoP', async () => {
    await assert.rejects(
      resolve(bearerAs, bearerApi, { senderConstrained: 'required' }),
      (err) => err instanceof CredentialResolutionError,
    );
    // The same server and setting with DPoP: fine.
    const bound = await resolve(dpopAs, dpopApi, { senderConstrained: 'required' });
    assert.equal(bound.tokenType, 'DPoP');
    disposeCredential(bound);
  });

  it('the accord decides, through the AC: required there refuses what the backend would take', async () => {
    const strict = acFor(bearerApi.url, Date.now(), { sender_constrained: 'required' });
    await assert.rejects(
      backend(bearerAs).resolve('oauth', bearerApi.url, strict),
      (err) => err instanceof CredentialResolutionError,
    );
    const off = acFor(dpopApi.url, Date.now(), { sender_constrained: 'off' });
    const bearer = await backend(dpopAs).resolve('oauth', dpopApi.url, off);
    assert.equal(bearer.tokenType, 'Bearer');
    disposeCredential(bearer);
  });

  it('preferred (the default) takes the bearer token, says so, and sends it as Bearer', async () => {
    const credential = await resolve(bearerAs, bearerApi);
    assert.equal(credential.tokenType, 'Bearer');
    assert.equal(credential.dpop, undefined);
    assert.equal(credentialFingerprint(credential).sender_constraint, 'bearer');
    assert.equal((await get(bearerApi.url, credential)).status, 200);
    assert.equal(bearerApi.seen.at(-1)?.authorization, `Bearer ${reveal(credential)}`);
    assert.equal(bearerApi.seen.at(-1)?.dpop, undefined);
    disposeCredential(credential);
  });

  it('off sends no proof: a DPoP-capable server issues a bearer token', async () => {
    const credential = await resolve(dpopAs, dpopApi, { senderConstrained: 'off' });
    assert.equal(credential.tokenType, 'Bearer');
    assert.equal(decodeJwt(reveal(credential))['cnf'], undefined);
    disposeCredential(credential);
  });

  it('a DPoP token type is accepted only when a proof was sent', () => {
    const reply = {
      issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      token_type: 'DPoP',
      expires_in: 60,
    };
    assert.equal(replyFields(reply, ['read'], false), undefined);
    assert.equal(replyFields(reply, ['read'], true)?.dpop, true);
  });

  it('the connector refuses a DPoP token without its key, and a bearer token with one', async () => {
    const bound = await resolve(dpopAs, dpopApi);
    const { dpop: key, ...keyless } = bound;
    await assert.rejects(get(dpopApi.url, keyless));
    const bearer = await resolve(bearerAs, bearerApi);
    await assert.rejects(get(bearerApi.url, { ...bearer, dpop: key! }));
    disposeCredential(bound);
    disposeCredential(bearer);
  });
});
