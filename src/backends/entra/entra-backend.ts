/**
 * The `entra` backend: per invocation, an on-behalf-of (OBO) token from Microsoft Entra ID
 * through `@azure/msal-node`, so the broker holds no standing token for any API. The user
 * assertion is a deployment-supplied user token, or by default a 60-second JWT the broker
 * signs naming the AC's principal (for an Entra app that trusts the broker's key, and for
 * tests); the broker authenticates with a client assertion signed by its own key
 * (private_key_jwt), or a client secret only where configured.
 *
 * Entra access tokens live 60–90 minutes and cannot be shortened or revoked, so the backend
 * declares `issuerCannotShortenLifetime`: the resolver clamps the usable window to its max
 * TTL (5 min) and marks the credential must-revoke; `revoke` can only log that the token
 * stays valid at the issuer until its own expiry.
 *
 * Zero-credential rule: MSAL keeps every token it acquires in an in-memory cache. Each call
 * therefore builds its own ConfidentialClientApplication, asks with `skipCache`, deletes
 * every cache entry as soon as the call returns or fails, checks that the cache holds no
 * token (failing closed otherwise) and drops the client. MSAL's HTTP goes through a client of this module
 * (node:https) so that the resolver's abort signal and timeout reach the network, statuses
 * map to the backend's fixed reasons, and a private authority's CA can be trusted without
 * `NODE_EXTRA_CA_CERTS`.
 *
 * What it cannot promise: MSAL takes and returns tokens as JS strings (the OBO assertion,
 * the client secret when one is configured, the access token); they linger in the heap until
 * collected. The access token is copied into a `Secret` at once.
 */
import { deadline } from '../../base/deadline.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  type AuthenticationResult,
  ClientConfigurationError,
  ConfidentialClientApplication,
  type Configuration,
  type INetworkModule,
  LogLevel,
  type NetworkRequestOptions,
  type NetworkResponse,
  ProtocolMode,
} from '@azure/msal-node';
import { type Clock, systemClock } from '../../base/clock.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import {
  type BackendReason,
  BackendReasons,
  CredentialResolutionError,
} from '../../credentials/errors.js';
import { DEFAULT_BACKEND_TIMEOUT_MS } from '../../credentials/resolver.js';
import { Secret } from '../../credentials/secret.js';
import type {
  AcContext,
  Credential,
  CredentialOf,
  CredentialType,
  OAuthCredential,
} from '../../credentials/types.js';
import { ConfigError } from '../../base/errors.js';
import { type Logger, silentLogger } from '../../base/logger.js';
import {
  checkClientAuth,
  checkEndpoint,
  type ClientAuth,
  errorCodeOf,
  isResourceIndicator,
  isScopeToken,
  isWithinRequested,
  scopeBase,
  signClientAssertion,
  signSubjectAssertion,
  type SubjectSigner,
  unsafeJwtExpiry,
  unsafeJwtId,
  ACCESS_TOKEN,
  MAX_REPLY_BYTES,
  scopesOf,
} from '../oauth/assertions.js';

/** Scopes MSAL adds to every request; they say nothing about the resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const TOKEN_SECTIONS = ['Account', 'IdToken', 'AccessToken', 'RefreshToken'] as const;

/**
 * The default scope: `<target>/.default`, Entra's "every permission the app was granted
 * on this resource" (e.g. `https://graph.microsoft.com/.default`). It does not narrow by
 * capability — Entra decides from the app's consented permissions; to ask for one
 * permission per capability, pass e.g. `(caps, t) => caps.map((c) => `${t}/${c}`)`.
 */
export function entraDefaultScopes(_capabilities: readonly string[], target: string): string[] {
  return [`${scopeBase(target)}/.default`];
}

/** The default user assertion's signer; `audience` defaults to the authority URL. */
export interface EntraSubjectSigner extends SubjectSigner {
  readonly audience?: string;
}

export interface EntraBackendOptions {
  id?: string;
  /** e.g. `https://login.microsoftonline.com/<tenant>`; https only (MSAL requires it). */
  authority: string;
  /** Hosts MSAL may trust without Microsoft's instance discovery (AD FS, B2C, tests). */
  knownAuthorities?: string[];
  /**
   * The authority's OpenID configuration (JSON text), so no discovery request is made.
   * Without it the first call discovers it and later calls reuse what it found.
   */
  authorityMetadata?: string;
  /** `AAD` (default) for Entra; `OIDC` for another OpenID provider. */
  protocolMode?: 'AAD' | 'OIDC';
  clientId: string;
  /**
   * private_key_jwt: a client assertion per request, signed with the broker's key (the
   * default to configure). A secret only where the app has nothing better; MSAL sends it
   * in the request body (client_secret_post), whatever the method's name says.
   */
  clientAuth: ClientAuth;
  /**
   * The user token for OBO, e.g. the Entra token the caller presented. The backend takes
   * ownership of the returned Secret and zero-fills it after the call. Default: a
   * broker-signed assertion from `subject` (one of the two is required).
   */
  userAssertion?: (ac: AcContext) => Promise<Secret>;
  subject?: EntraSubjectSigner;
  /** Default `entraDefaultScopes`: `<target>/.default`. */
  scopesFor?: (capabilities: readonly string[], target: string) => string[];
  /** `aud` of client assertions; default the token endpoint from the authority metadata. */
  assertionAudience?: string;
  /** A CA certificate (PEM) to trust for the authority besides the system roots. */
  tlsCa?: string;
  clock?: Clock;
  /** Per-request timeout, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
  /**
   * Makes each call's MSAL client; for tests and instrumentation. Whatever it returns,
   * the backend empties its cache after the call and refuses a token if it cannot.
   */
  createClient?: (configuration: Configuration) => ConfidentialClientApplication;
}

/** What one call's network client saw: the reason the backend reports comes from here. */
interface CallTrace {
  status?: number;
  error?: string | undefined;
  networkFailed: boolean;
}

export class EntraBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['oauth'] as const;
  readonly issuerCannotShortenLifetime = true;
  readonly timeoutMs?: number;
  readonly #authority: string;
  readonly #knownAuthorities: string[] | undefined;
  readonly #protocolMode: 'AAD' | 'OIDC';
  readonly #clientId: string;
  readonly #clientAuth: ClientAuth;
  readonly #userAssertion: ((ac: AcContext) => Promise<Secret>) | undefined;
  readonly #subject: EntraSubjectSigner | undefined;
  readonly #scopesFor: (capabilities: readonly string[], target: string) => string[];
  readonly #assertionAudience: string | undefined;
  readonly #ca: string[] | undefined;
  readonly #clock: Clock;
  readonly #requestTimeoutMs: number;
  readonly #log: Logger;
  readonly #createClient: (configuration: Configuration) => ConfidentialClientApplication;
  /** The authority's OpenID configuration, given or discovered once; public metadata. */
  #metadata: string | undefined;

  constructor(options: EntraBackendOptions) {
    this.id = options.id ?? 'entra';
    const authority = checkEndpoint('entra.authority', options.authority);
    if (!authority.startsWith('https:')) {
      throw new ConfigError('entra.authority', 'must be https (MSAL refuses anything else)');
    }
    this.#authority = authority;
    if (typeof options.clientId !== 'string' || options.clientId.length === 0) {
      throw new ConfigError('entra.clientId', 'must not be empty');
    }
    checkClientAuth('entra.clientAuth', options.clientAuth);
    if (options.userAssertion === undefined && options.subject === undefined) {
      throw new ConfigError('entra', 'needs userAssertion or subject (the broker signer)');
    }
    if (options.authorityMetadata !== undefined) tokenEndpointOf(options.authorityMetadata, true);
    if (options.timeoutMs !== undefined) {
      if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs >= 1)) {
        throw new ConfigError('entra.timeoutMs', 'must be a positive number');
      }
      this.timeoutMs = options.timeoutMs;
    }
    this.#knownAuthorities = options.knownAuthorities;
    this.#metadata = options.authorityMetadata;
    this.#protocolMode = options.protocolMode ?? 'AAD';
    this.#clientId = options.clientId;
    this.#clientAuth = options.clientAuth;
    this.#userAssertion = options.userAssertion;
    this.#subject = options.subject;
    this.#scopesFor = options.scopesFor ?? entraDefaultScopes;
    this.#assertionAudience = options.assertionAudience;
    this.#ca = options.tlsCa === undefined ? undefined : [...rootCertificates, options.tlsCa];
    this.#clock = options.clock ?? systemClock;
    this.#requestTimeoutMs = options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    this.#log = options.logger ?? silentLogger;
    this.#createClient =
      options.createClient ?? ((configuration) => new ConfidentialClientApplication(configuration));
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
  ): Promise<CredentialOf<T>> {
    if (type !== 'oauth' || ac.target !== target || !isResourceIndicator(target)) {
      throw new CredentialResolutionError(BackendReasons.invalidRequest);
    }
    const scopes = scopesOf(this.#scopesFor, ac.capabilities, target);
    const started = this.#clock.now();
    if (!(ac.expires_at * 1000 > started)) {
      throw new CredentialResolutionError(BackendReasons.invalidRequest);
    }
    if (signal?.aborted === true) throw new CredentialResolutionError(BackendReasons.unavailable);

    const trace: CallTrace = { networkFailed: false };
    const limit = deadline(this.#requestTimeoutMs, signal);
    try {
      return await this.#onBehalfOf(ac, target, scopes, started, trace, limit.signal);
    } finally {
      limit.clear();
    }
  }

  async #onBehalfOf<T extends CredentialType>(
    ac: AcContext,
    target: string,
    scopes: string[],
    started: number,
    trace: CallTrace,
    signal: AbortSignal,
  ): Promise<CredentialOf<T>> {
    const network = this.#networkClient(trace, signal);
    let client: ConfidentialClientApplication;
    try {
      client = this.#createClient(this.#configuration(network));
    } catch {
      throw new CredentialResolutionError(BackendReasons.misconfigured);
    }

    const assertion = await this.#assertion(ac, started);
    let result: AuthenticationResult | null;
    try {
      result = await client.acquireTokenOnBehalfOf({
        // MSAL takes a string: this is the user token's unavoidable JS-string copy.
        oboAssertion: typeof assertion === 'string' ? assertion : assertion.use(utf8),
        scopes,
        skipCache: true,
      });
    } catch (err) {
      throw this.#failure(err, trace);
    } finally {
      if (assertion instanceof Secret) assertion.dispose();
      emptyCache(client);
    }
    if (tokensHeld(client) !== 0) {
      // Never hand on a token MSAL still holds a copy of.
      this.#log.error({ backend: this.id }, 'MSAL cache still holds tokens; refusing the token');
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    return this.#credentialOf(result, target, scopes, started) as CredentialOf<T>;
  }

  /**
   * Entra has no revocation endpoint for access tokens: the token stays valid at Entra
   * until its own expiry. The resolver clamped the broker's window and marked it
   * must-revoke; all that is left is to say so. Never throws.
   */
  revoke(credential: Credential): Promise<void> {
    if (credential.type === 'oauth' && credential.issuedBy === this.id) {
      this.#log.info(
        {
          backend: this.id,
          id: credential.id,
          issuerExpiresAt: credential.issuerExpiresAt ?? credential.expiresAt,
        },
        'Entra access tokens cannot be revoked; the token remains valid at the issuer until its own expiry',
      );
    }
    return Promise.resolve();
  }

  #configuration(networkClient: INetworkModule): Configuration {
    const auth = this.#clientAuth;
    const clientId = this.#clientId;
    return {
      auth: {
        clientId,
        authority: this.#authority,
        ...(this.#knownAuthorities !== undefined
          ? { knownAuthorities: [...this.#knownAuthorities] }
          : {}),
        ...(this.#metadata !== undefined ? { authorityMetadata: this.#metadata } : {}),
        ...(auth.method === 'private_key_jwt'
          ? {
              clientAssertion: ({ tokenEndpoint }) =>
                signClientAssertion({
                  signer: auth.signer(),
                  clientId,
                  audience: tokenEndpoint ?? this.#clientAssertionAudience(),
                  now: this.#clock.now(),
                }),
            }
          : // MSAL takes a string: the configured secret's JS-string copy, per call.
            { clientSecret: auth.secret.use(utf8) }),
      },
      system: {
        protocolMode: this.#protocolMode === 'OIDC' ? ProtocolMode.OIDC : ProtocolMode.AAD,
        networkClient,
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Error,
          loggerCallback: () => undefined,
        },
      },
    };
  }

  #clientAssertionAudience(): string {
    if (this.#assertionAudience !== undefined) return this.#assertionAudience;
    const fromMetadata =
      this.#metadata === undefined ? undefined : tokenEndpointOf(this.#metadata, false);
    // Entra's own token endpoint, the audience it requires, when nothing better is known.
    return fromMetadata ?? `${this.#authority.replace(/\/+$/, '')}/oauth2/v2.0/token`;
  }

  async #assertion(ac: AcContext, now: number): Promise<string | Secret> {
    if (this.#userAssertion !== undefined) {
      let token: unknown;
      try {
        token = await this.#userAssertion(ac);
      } catch (err) {
        throw err instanceof CredentialResolutionError
          ? err
          : new CredentialResolutionError(BackendReasons.failed);
      }
      if (!(token instanceof Secret) || token.disposed) {
        throw new CredentialResolutionError(BackendReasons.misconfigured);
      }
      return token;
    }
    const subject = this.#subject as EntraSubjectSigner;
    return signSubjectAssertion({
      signer: subject.signer(),
      issuer: subject.issuer,
      audience: subject.audience ?? this.#authority.replace(/\/+$/, ''),
      ac,
      now,
    });
  }

  #credentialOf(
    result: AuthenticationResult | null,
    target: string,
    requested: readonly string[],
    started: number,
  ): OAuthCredential {
    const raw = result?.accessToken;
    if (result === null || typeof raw !== 'string' || !ACCESS_TOKEN.test(raw)) {
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    // Bearer only: a PoP token needs a key this backend does not hold.
    if (typeof result.tokenType !== 'string' || result.tokenType.toLowerCase() !== 'bearer') {
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    const jwtExp = unsafeJwtExpiry(raw);
    const id = unsafeJwtId(raw);
    // MSAL's expiresOn is the reply's expires_in; a JWT's own exp may only bring it closer.
    const candidates = [
      result.expiresOn instanceof Date ? result.expiresOn.getTime() : NaN,
      jwtExp !== undefined ? jwtExp * 1000 : NaN,
    ].filter(Number.isFinite);
    const expiresAt = Math.min(...candidates);
    if (candidates.length === 0 || expiresAt <= started) {
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    const scope = (Array.isArray(result.scopes) ? result.scopes : []).filter(
      (s) => typeof s === 'string' && isScopeToken(s) && !OIDC_SCOPES.has(s),
    );
    // `.default` leaves the choice to Entra; anything narrower must not come back wider.
    const narrowed = !requested.some((s) => s.endsWith('/.default'));
    if (narrowed && !isWithinRequested(scope, requested, target)) {
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    return {
      type: 'oauth',
      target,
      // The one place the token is kept: a Secret, from MSAL's unavoidable JS string.
      accessToken: Secret.fromString(raw),
      tokenType: 'Bearer',
      scope,
      expiresAt: new Date(expiresAt),
      scopedTo: `${scope.join(' ') || 'no scope'} at ${target}`,
      issuedBy: this.id,
      ...(id !== undefined ? { id } : {}),
    };
  }

  #failure(err: unknown, trace: CallTrace): CredentialResolutionError {
    if (err instanceof CredentialResolutionError) return err;
    let reason: BackendReason;
    if (trace.networkFailed) reason = BackendReasons.unavailable;
    else if (trace.status === 400 || trace.status === 401 || trace.status === 403)
      reason = BackendReasons.denied;
    else if (trace.status !== undefined && (trace.status === 429 || trace.status >= 500))
      reason = BackendReasons.unavailable;
    else if (err instanceof ClientConfigurationError) reason = BackendReasons.misconfigured;
    else reason = BackendReasons.failed;
    // The AS's error code, when it is one; never MSAL's message, which may quote it all.
    this.#log.warn(
      { backend: this.id, status: trace.status, error: trace.error, reason },
      'on-behalf-of token request failed',
    );
    return new CredentialResolutionError(reason);
  }

  /** A GET of this authority's OpenID configuration, not yet known. */
  #isDiscovery(url: string): boolean {
    if (this.#metadata !== undefined) return false;
    const parsed = new URL(url);
    return (
      parsed.origin === new URL(this.#authority).origin &&
      parsed.pathname.endsWith('/.well-known/openid-configuration')
    );
  }

  /** MSAL's HTTP for one call: bound to its abort signal, recording what it saw. */
  #networkClient(trace: CallTrace, signal: AbortSignal): INetworkModule {
    const send = async <T>(
      method: 'GET' | 'POST',
      url: string,
      options: NetworkRequestOptions | undefined,
    ): Promise<NetworkResponse<T>> => {
      const reply = await sendRequest(method, url, options, signal, this.#ca).catch(() => {
        trace.networkFailed = true;
        throw new Error('network request failed');
      });
      const body = parseJson(reply.body);
      if (method === 'POST') {
        trace.status = reply.status;
        trace.error = errorCodeOf(body);
      } else if (body !== undefined && reply.status === 200 && this.#isDiscovery(url)) {
        const text = JSON.stringify(body);
        // Public metadata: later calls skip discovery.
        if (tokenEndpointOf(text, false) !== undefined) this.#metadata = text;
      }
      if (body === undefined) {
        if (method === 'POST') trace.networkFailed = reply.status >= 500;
        throw new Error('reply is not JSON');
      }
      return { status: reply.status, headers: reply.headers, body: body as T };
    };
    return {
      sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) =>
        send<T>('GET', url, options),
      sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) =>
        send<T>('POST', url, options),
    };
  }
}

const utf8 = (bytes: Buffer): string => bytes.toString('utf8');

/** The `token_endpoint` of OpenID configuration JSON; throws ConfigError when `strict`. */
function tokenEndpointOf(metadata: string, strict: boolean): string | undefined {
  try {
    const doc: unknown = JSON.parse(metadata);
    const endpoint = (doc as Record<string, unknown> | null)?.['token_endpoint'];
    if (typeof endpoint === 'string') return checkEndpoint('entra.authorityMetadata', endpoint);
  } catch (err) {
    if (strict && err instanceof ConfigError) throw err;
  }
  if (strict) throw new ConfigError('entra.authorityMetadata', 'must be OpenID configuration JSON');
  return undefined;
}

/**
 * Deletes every entry of the client's token cache. `deserialize` cannot do it (it merges
 * into what is there); `getKVStore()` is the cache's own live key-value map, so deleting
 * its keys leaves the tokens unreachable. `tokensHeld` checks the result.
 */
function emptyCache(client: ConfidentialClientApplication): void {
  try {
    const store = client.getTokenCache().getKVStore() as Record<string, unknown>;
    for (const key of Object.keys(store)) delete store[key];
  } catch {
    // tokensHeld() reports what is left, and the call fails closed on it.
  }
}

/**
 * How many accounts and tokens the client's cache holds, through both of MSAL's views:
 * the serialized cache and the key-value map (any entry with a `secret`). -1 when it
 * cannot be read, which callers treat as "not empty".
 */
export function tokensHeld(client: ConfidentialClientApplication): number {
  try {
    const cache = client.getTokenCache();
    const serialized = JSON.parse(cache.serialize()) as Record<string, unknown>;
    let n = 0;
    for (const section of TOKEN_SECTIONS) {
      const entries = serialized[section];
      if (typeof entries === 'object' && entries !== null) n += Object.keys(entries).length;
    }
    for (const entry of Object.values(cache.getKVStore() as Record<string, unknown>)) {
      if (typeof entry === 'object' && entry !== null && 'secret' in entry) n += 1;
    }
    return n;
  } catch {
    return -1;
  }
}

function parseJson(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  } finally {
    bytes.fill(0);
  }
}

interface RawReply {
  status: number;
  headers: Record<string, string>;
  /** Undefined when the reply exceeded the size limit. */
  body: Buffer | undefined;
}

/**
 * One HTTP exchange over node:http(s): https, or http to a loopback address only; no
 * redirects followed; a reply larger than the limit is not read.
 */
function sendRequest(
  method: 'GET' | 'POST',
  url: string,
  options: NetworkRequestOptions | undefined,
  signal: AbortSignal,
  ca: string[] | undefined,
): Promise<RawReply> {
  return new Promise<RawReply>((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(checkEndpoint('entra endpoint', url));
    } catch (err) {
      reject(err instanceof Error ? err : new Error('bad url'));
      return;
    }
    const body = method === 'POST' ? Buffer.from(options?.body ?? '', 'utf8') : undefined;
    const headers: Record<string, string> = { ...(options?.headers ?? {}) };
    if (body !== undefined) headers['content-length'] = String(body.byteLength);
    const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      parsed,
      {
        method,
        headers,
        signal,
        ...(ca !== undefined && parsed.protocol === 'https:' ? { ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let total = 0;
        let tooLarge = false;
        res.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > MAX_REPLY_BYTES) {
            tooLarge = true;
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete && !tooLarge) {
            reject(new Error('reply interrupted'));
            return;
          }
          const all = tooLarge ? undefined : Buffer.concat(chunks, total);
          for (const chunk of chunks) chunk.fill(0);
          const replyHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') replyHeaders[name] = value;
            else if (Array.isArray(value)) replyHeaders[name] = value.join(', ');
          }
          resolve({ status: res.statusCode ?? 0, headers: replyHeaders, body: all });
        });
      },
    );
    req.on('error', reject);
    if (body === undefined) req.end();
    else req.end(body, () => body.fill(0));
  });
}
