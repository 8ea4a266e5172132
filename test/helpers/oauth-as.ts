/**
 * A real OAuth 2.0 authorization server for tests: oidc-provider 8.8.1 in-process on
 * 127.0.0.1, with the two grants the broker's OAuth backends use.
 *
 * - RFC 8693 token exchange (`urn:ietf:params:oauth:grant-type:token-exchange`): the
 *   `subject_token` (type `…:jwt` or `…:access_token`) must be an EdDSA JWT verified with
 *   the broker's JWKS, `aud` = this server's issuer, living at most 5 minutes; `resource`
 *   (and `audience`, if sent) name one configured resource; the requested scope
 *   (`<resource>/<name>` or bare `<name>`) is intersected with the resource's scopes —
 *   nothing left is `invalid_scope`, an unknown resource `invalid_target`.
 * - Entra's on-behalf-of shape (`urn:ietf:params:oauth:grant-type:jwt-bearer` with
 *   `requested_token_use=on_behalf_of`): the `assertion` is checked like a subject token;
 *   the scope names exactly one resource by prefix (`<resource>/<name>`, or
 *   `<resource>/.default` for all its scopes); the reply is Entra-like (`ext_expires_in`,
 *   full scope names, the token's `scp`), and tokens live `oboAccessTokenTtlSeconds`
 *   (default 3600, as Entra's do) so a resolver's clamp is exercised.
 *
 * Issued access tokens: `sub` = the subject's `sub`; `aud` = the resource; `scope` = the
 * granted bare names; `client_id`; and the delegation rule — `act` = `{ sub: <client_id> }`,
 * with the subject's own `act` chain nested inside when it has one (the client is the
 * current actor, the chain before it follows). JWT (`typ: at+jwt`, ES256, keys at
 * `jwksUri`) by default, opaque for a resource with `format: 'opaque'` (then revocable
 * and introspectable; oidc-provider cannot revoke JWTs). `extraClaims` go into every token.
 *
 * Clients: `broker` (private_key_jwt, EdDSA, its `jwks` = the broker's JWKS as at start)
 * and `broker-secret` (client_secret_basic, the secret in `clientSecret`).
 *
 * With `dpop: true` (features.dPoP), a token exchange request carrying a `DPoP` proof
 * (checked by oidc-provider's own validator: signature, htm, htu, iat; jti replay is not kept)
 * gets a DPoP-bound token: `token_type: DPoP`, `cnf.jkt` = the proof key's thumbprint.
 *
 * With `tls: true` it serves https with a fresh self-signed Ed25519 certificate for IP
 * 127.0.0.1 (`certPem`), as MSAL refuses http authorities: pass `certPem` to the client
 * as its trusted CA (EntraBackend's `tlsCa`, resource-server's `ca`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  request as httpRequest,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';
import { run } from './run.js';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const MAX_SUBJECT_LIFETIME_S = 300;

export interface ResourceConfig {
  /** Bare scope names the resource offers, e.g. `read`, `write`. */
  scopes: string[];
  format?: 'jwt' | 'opaque';
}

export interface AuthorizationServerOptions {
  tls?: boolean;
  /** The port to listen on (127.0.0.1), e.g. to restart a server where it was; any free one by default. */
  port?: number;
  /** Lifetime of token-exchange tokens; default 300. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of on-behalf-of tokens; default 3600, like Entra's. */
  oboAccessTokenTtlSeconds?: number;
  /** The broker's public keys: verify its client assertions and subject tokens. */
  brokerJwks: () => { keys: JWK[] };
  /** When set, subject tokens must carry this `iss`. */
  brokerIssuer?: string;
  /** Resource indicator (the broker's target) → what it offers. */
  resources: Record<string, ResourceConfig>;
  /** Claims added to every access token, e.g. a marker a leak test looks for. */
  extraClaims?: Record<string, unknown>;
  /** The `broker-secret` client's secret; random by default. */
  clientSecret?: string;
  /** RFC 9449: bind token exchange tokens to the key of the request's DPoP proof. */
  dpop?: boolean;
}

/** What a grant handler received, for tests to check what a backend sent. */
export interface TokenRequestRecord {
  readonly grantType: string;
  readonly clientId: string;
  readonly clientAuthMethod: string;
  readonly params: Readonly<Record<string, string | undefined>>;
}

export interface AuthorizationServer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  /** The OpenID configuration JSON (e.g. for MSAL's `authorityMetadata`). */
  readonly metadata: string;
  /** The self-signed certificate, PEM, when `tls` is on. */
  readonly certPem?: string;
  readonly clientIds: { readonly privateKeyJwt: 'broker'; readonly secretBasic: 'broker-secret' };
  readonly clientSecret: string;
  /** Every token request a grant handler accepted or refused, oldest first. */
  readonly tokenRequests: TokenRequestRecord[];
  /** Method and path of every HTTP request the server received, oldest first. */
  readonly requests: { method: string; path: string }[];
  /** This server's public signing keys. */
  jwks(): { keys: JWK[] };
  /** RFC 7662 introspection with an internal client. */
  introspect(token: string): Promise<{ active: boolean } & Record<string, unknown>>;
  close(): Promise<void>;
}

type Stored = Record<string, unknown>;

/** oidc-provider's storage, in memory and per server (its own quick-start one warns). */
function memoryAdapter(): new (name: string) => object {
  const all = new Map<string, Map<string, Stored>>();
  return class MemoryAdapter {
    readonly #store: Map<string, Stored>;
    constructor(name: string) {
      const store = all.get(name) ?? new Map<string, Stored>();
      all.set(name, store);
      this.#store = store;
    }
    upsert(id: string, payload: Stored): Promise<void> {
      this.#store.set(id, payload);
      return Promise.resolve();
    }
    find(id: string): Promise<Stored | undefined> {
      return Promise.resolve(this.#store.get(id));
    }
    findByUserCode(code: string): Promise<Stored | undefined> {
      return Promise.resolve([...this.#store.values()].find((p) => p['userCode'] === code));
    }
    findByUid(uid: string): Promise<Stored | undefined> {
      return Promise.resolve([...this.#store.values()].find((p) => p['uid'] === uid));
    }
    consume(id: string): Promise<void> {
      const payload = this.#store.get(id);
      if (payload !== undefined) payload['consumed'] = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    }
    destroy(id: string): Promise<void> {
      this.#store.delete(id);
      return Promise.resolve();
    }
    revokeByGrantId(grantId: string): Promise<void> {
      for (const store of all.values()) {
        for (const [id, payload] of store) if (payload['grantId'] === grantId) store.delete(id);
      }
      return Promise.resolve();
    }
  };
}

/** A self-signed Ed25519 certificate for IP 127.0.0.1, made with openssl. */
export function selfSignedCertificate(): { keyPem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-as-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const r = run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ed25519',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const ttl = options.accessTokenTtlSeconds ?? 300;
  const oboTtl = options.oboAccessTokenTtlSeconds ?? 3600;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const introspectorSecret = randomBytes(24).toString('base64url');
  const tls = options.tls === true ? selfSignedCertificate() : undefined;

  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'as-' + randomUUID().slice(0, 8);
  const signingJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };

  const server: Server =
    tls !== undefined
      ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem })
      : createHttpServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `${tls !== undefined ? 'https' : 'http'}://127.0.0.1:${port}`;

  const resourceInfo = (resource: string, lifetime: number) => {
    const config = Object.hasOwn(options.resources, resource)
      ? options.resources[resource]
      : undefined;
    if (config === undefined) throw new errors.InvalidTarget();
    return {
      config,
      info: {
        scope: config.scopes.join(' '),
        audience: resource,
        accessTokenTTL: lifetime,
        accessTokenFormat: config.format ?? ('jwt' as const),
        jwt: { sign: { alg: 'ES256' } },
      },
    };
  };

  // oidc-provider overwrites a token's `extra` at save() from extraTokenClaims: pass
  // per-token claims through this map instead.
  const extras = new WeakMap<object, Record<string, unknown>>();
  const tokenRequests: TokenRequestRecord[] = [];

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingJwk] },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    clients: [
      {
        client_id: 'broker',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'EdDSA',
        jwks: options.brokerJwks(),
        grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: 'broker-secret',
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: 'introspector',
        client_secret: introspectorSecret,
        grant_types: [],
        redirect_uris: [],
        response_types: [],
      },
    ],
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: options.dpop === true },
      introspection: { enabled: true, allowedPolicy: () => Promise.resolve(true) },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) =>
          resourceInfo(resource, ttl).info,
      },
    },
    extraTokenClaims: (_ctx: unknown, token: object) => Promise.resolve(extras.get(token)),
    findAccount: (_ctx: unknown, sub: string) =>
      Promise.resolve({ accountId: sub, claims: () => Promise.resolve({ sub }) }),
    ttl: {
      AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? ttl,
      Grant: oboTtl,
      ClientCredentials: ttl,
      IdToken: ttl,
      Session: oboTtl,
      Interaction: ttl,
    },
  });

  const brokerKeys = () => createLocalJWKSet(options.brokerJwks());

  /** A broker-signed subject token or OBO assertion, checked; `invalid_grant` otherwise. */
  async function verifySubject(token: string | undefined): Promise<JWTPayload> {
    if (token === undefined) throw new errors.InvalidRequest('subject token missing');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, brokerKeys(), {
        algorithms: ['EdDSA'],
        audience: issuer,
        ...(options.brokerIssuer !== undefined ? { issuer: options.brokerIssuer } : {}),
        requiredClaims: ['iss', 'sub', 'exp', 'iat', 'jti'],
      }));
    } catch {
      throw new errors.InvalidGrant('subject token invalid');
    }
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_SUBJECT_LIFETIME_S) {
      throw new errors.InvalidGrant('subject token lives too long');
    }
    return payload;
  }

  function record(ctx: KoaContextWithOIDC, grantType: string): void {
    tokenRequests.push({
      grantType,
      clientId: ctx.oidc.client.clientId,
      clientAuthMethod: ctx.oidc.client.clientAuthMethod,
      params: { ...ctx.oidc.params },
    });
  }

  async function mint(
    ctx: KoaContextWithOIDC,
    subject: JWTPayload,
    resource: string,
    want: string[],
    lifetime: number,
    /** Claims for this grant's tokens, from the scopes granted. */
    extra: (granted: string[]) => Record<string, unknown>,
    /** The thumbprint of a checked DPoP proof's key: the token is bound to it. */
    jkt?: string,
  ) {
    const { config, info } = resourceInfo(resource, lifetime);
    const offered = new Set(config.scopes);
    const granted = [...new Set(want)].filter((s) => offered.has(s));
    if (granted.length === 0) {
      // Quotes the request back, as real servers do: a backend must never repeat it.
      throw new errors.InvalidScope(`requested scope is not allowed: ${want.join(' ')}`);
    }
    const { client } = ctx.oidc;
    const accountId = subject.sub ?? '';
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addResourceScope(resource, granted.join(' '));
    const grantId = await grant.save();
    const at = new provider.AccessToken({
      accountId,
      client,
      grantId,
      gty: ctx.oidc.params['grant_type'] ?? '',
      scope: granted.join(' '),
      resourceServer: new provider.ResourceServer(resource, info),
      expiresIn: lifetime,
    });
    const act =
      subject['act'] !== undefined
        ? { sub: client.clientId, act: subject['act'] }
        : { sub: client.clientId };
    if (jkt !== undefined) at.setThumbprint('jkt', jkt);
    extras.set(at, { ...options.extraClaims, ...extra(granted), act });
    return { value: await at.save(), expiresIn: at.expiration, granted, tokenType: at.tokenType };
  }

  provider.registerGrantType(
    GRANT_TOKEN_EXCHANGE,
    async (ctx) => {
      record(ctx, GRANT_TOKEN_EXCHANGE);
      const p = ctx.oidc.params;
      if (
        p['subject_token_type'] !== TOKEN_TYPE_JWT &&
        p['subject_token_type'] !== TOKEN_TYPE_ACCESS_TOKEN
      ) {
        throw new errors.InvalidRequest('unsupported subject_token_type');
      }
      const requested = p['requested_token_type'];
      if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
        throw new errors.InvalidRequest('unsupported requested_token_type');
      }
      const resource = p['resource'];
      if (resource === undefined) throw new errors.InvalidTarget();
      if (p['audience'] !== undefined && p['audience'] !== resource)
        throw new errors.InvalidTarget();
      const subject = await verifySubject(p['subject_token']);
      const prefix = resource.replace(/\/+$/, '') + '/';
      const want = (p['scope'] ?? '')
        .split(' ')
        .filter((s) => s !== '')
        .map((s) => (s.startsWith(prefix) ? s.slice(prefix.length) : s));
      const proof = await validateDpop(ctx);
      const minted = await mint(ctx, subject, resource, want, ttl, () => ({}), proof?.thumbprint);
      ctx.body = {
        access_token: minted.value,
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        token_type: minted.tokenType,
        expires_in: minted.expiresIn,
        scope: minted.granted.join(' '),
      };
    },
    [
      'subject_token',
      'subject_token_type',
      'actor_token',
      'actor_token_type',
      'requested_token_type',
      'resource',
      'audience',
      'scope',
    ],
  );

  provider.registerGrantType(
    GRANT_JWT_BEARER,
    async (ctx) => {
      record(ctx, GRANT_JWT_BEARER);
      const p = ctx.oidc.params;
      if (p['requested_token_use'] !== 'on_behalf_of') {
        throw new errors.InvalidRequest('requested_token_use must be on_behalf_of');
      }
      // MSAL adds openid, profile and offline_access: only `<resource>/<name>` counts.
      const scopes = (p['scope'] ?? '').split(' ').filter((s) => s.includes('/'));
      const resources = new Set(scopes.map((s) => s.slice(0, s.lastIndexOf('/'))));
      const [resource] = resources;
      if (resources.size !== 1 || resource === undefined) throw new errors.InvalidTarget();
      const subject = await verifySubject(p['assertion']);
      let want = scopes.map((s) => s.slice(s.lastIndexOf('/') + 1));
      if (want.includes('.default')) want = resourceInfo(resource, oboTtl).config.scopes;
      // Entra puts the granted permissions' bare names in `scp`.
      const minted = await mint(ctx, subject, resource, want, oboTtl, (granted) => ({
        scp: granted.join(' '),
      }));
      ctx.body = {
        token_type: 'Bearer',
        scope: minted.granted.map((s) => `${resource}/${s}`).join(' '),
        expires_in: minted.expiresIn,
        ext_expires_in: minted.expiresIn,
        access_token: minted.value,
      };
    },
    ['assertion', 'scope', 'requested_token_use', 'client_info'],
  );

  const requests: { method: string; path: string }[] = [];
  server.on('request', (req: IncomingMessage) => {
    requests.push({ method: req.method ?? '', path: new URL(req.url ?? '/', issuer).pathname });
  });
  server.on('request', provider.callback());
  const metadata = await (
    await fetchWithCa(`${issuer}/.well-known/openid-configuration`, tls?.certPem)
  ).text();
  const doc = JSON.parse(metadata) as Record<string, string>;

  return {
    issuer,
    tokenEndpoint: doc['token_endpoint'] ?? '',
    revocationEndpoint: doc['revocation_endpoint'] ?? '',
    introspectionEndpoint: doc['introspection_endpoint'] ?? '',
    jwksUri: doc['jwks_uri'] ?? '',
    metadata,
    ...(tls !== undefined ? { certPem: tls.certPem } : {}),
    clientIds: { privateKeyJwt: 'broker', secretBasic: 'broker-secret' },
    clientSecret,
    tokenRequests,
    requests,
    jwks: () => ({ keys: [{ ...publicJwk }] }),
    async introspect(token: string) {
      const response = await fetchWithCa(doc['introspection_endpoint'] ?? '', tls?.certPem, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization:
            'Basic ' + Buffer.from(`introspector:${introspectorSecret}`).toString('base64'),
        },
        body: new URLSearchParams({ token }).toString(),
      });
      return JSON.parse(await response.text()) as { active: boolean } & Record<string, unknown>;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A minimal fetch over node:http(s) that trusts `caPem` (fetch cannot be given a CA
 * without undici's own Agent): for the helpers' own requests to a self-signed server.
 */
export function fetchWithCa(
  url: string,
  caPem: string | undefined,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text(): Promise<string> }> {
  const parsed = new URL(url);
  const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      parsed,
      {
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        ...(caPem !== undefined && parsed.protocol === 'https:'
          ? { ca: [...rootCertificates, caPem] }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text: () => Promise.resolve(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
