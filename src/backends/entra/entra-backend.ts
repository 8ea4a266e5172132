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
 * token (failing closed otherwise) and drops the client (msal-cache.ts). MSAL's HTTP goes
 * through a client of this module (network-client.ts, http.ts) so that the resolver's abort
 * signal and timeout reach the network, statuses map to the backend's fixed reasons, and a
 * private authority's CA can be trusted without `NODE_EXTRA_CA_CERTS`.
 *
 * What it cannot promise: MSAL takes and returns tokens as JS strings (the OBO assertion,
 * the client secret when one is configured, the access token); they linger in the heap until
 * collected. The access token is copied into a `Secret` at once (credential.ts).
 */
import { rootCertificates } from 'node:tls';
import {
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
} from '@azure/msal-node';
import { type Clock, systemClock } from '../../base/clock.js';
import { deadline } from '../../base/deadline.js';
import { ConfigError } from '../../base/errors.js';
import { type Logger, silentLogger } from '../../base/logger.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { DEFAULT_BACKEND_TIMEOUT_MS } from '../../credentials/resolver.js';
import { Secret } from '../../credentials/secret.js';
import type {
  AcContext,
  Credential,
  CredentialOf,
  CredentialType,
} from '../../credentials/types.js';
import { type ClientAuth, signSubjectAssertion, type SubjectSigner } from '../oauth/assertions.js';
import { checkClientAuth, checkClientId, checkEndpoint, checkTimeoutMs } from '../oauth/config.js';
import { type OAuthRequest, oauthGuard } from '../oauth/oauth-guard.js';
import { scopeBase } from '../oauth/scopes.js';
import { takeUserToken } from '../oauth/user-token.js';
import { guardResolve, type ResolveGuard } from '../resolve-guard.js';
import { AuthorityMetadata } from './authority.js';
import { entraCredential } from './credential.js';
import { emptyCache, tokensHeld } from './msal-cache.js';
import { msalConfiguration, type MsalSettings, utf8 } from './msal-config.js';
import { type CallTrace, failureReason, msalNetworkClient } from './network-client.js';

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

export class EntraBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['oauth'] as const;
  readonly issuerCannotShortenLifetime = true;
  readonly timeoutMs?: number;
  readonly #authority: AuthorityMetadata;
  readonly #msal: MsalSettings;
  readonly #userAssertion: ((ac: AcContext) => Promise<Secret>) | undefined;
  readonly #subject: EntraSubjectSigner | undefined;
  readonly #guard: ResolveGuard<OAuthRequest>;
  readonly #ca: string[] | undefined;
  readonly #requestTimeoutMs: number;
  readonly #log: Logger;
  readonly #createClient: (configuration: Configuration) => ConfidentialClientApplication;

  constructor(options: EntraBackendOptions) {
    this.id = options.id ?? 'entra';
    const authority = checkEndpoint('entra.authority', options.authority);
    if (!authority.startsWith('https:')) {
      throw new ConfigError('entra.authority', 'must be https (MSAL refuses anything else)');
    }
    checkClientId('entra.clientId', options.clientId);
    checkClientAuth('entra.clientAuth', options.clientAuth);
    if (options.userAssertion === undefined && options.subject === undefined) {
      throw new ConfigError('entra', 'needs userAssertion or subject (the broker signer)');
    }
    this.#authority = new AuthorityMetadata(authority, options.authorityMetadata);
    const timeoutMs = checkTimeoutMs('entra.timeoutMs', options.timeoutMs);
    if (timeoutMs !== undefined) this.timeoutMs = timeoutMs;
    const clock = options.clock ?? systemClock;
    this.#msal = {
      authority: this.#authority,
      knownAuthorities: options.knownAuthorities,
      protocolMode: options.protocolMode ?? 'AAD',
      clientId: options.clientId,
      clientAuth: options.clientAuth,
      assertionAudience: options.assertionAudience,
      clock,
    };
    this.#userAssertion = options.userAssertion;
    this.#subject = options.subject;
    this.#guard = oauthGuard(options.scopesFor ?? entraDefaultScopes, clock);
    this.#ca = options.tlsCa === undefined ? undefined : [...rootCertificates, options.tlsCa];
    this.#requestTimeoutMs = timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
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
    const request = guardResolve(this.#guard, type, target, ac, signal);
    const trace: CallTrace = { networkFailed: false };
    const limit = deadline(this.#requestTimeoutMs, signal);
    try {
      return (await this.#onBehalfOf(ac, target, request, trace, limit.signal)) as CredentialOf<T>;
    } finally {
      limit.clear();
    }
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

  async #onBehalfOf(
    ac: AcContext,
    target: string,
    { scopes, started }: OAuthRequest,
    trace: CallTrace,
    signal: AbortSignal,
  ): Promise<Credential> {
    const network = msalNetworkClient(trace, signal, this.#ca, this.#authority);
    let client: ConfidentialClientApplication;
    try {
      client = this.#createClient(msalConfiguration(this.#msal, network));
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
    return entraCredential(result, { target, requested: scopes, started, issuedBy: this.id });
  }

  async #assertion(ac: AcContext, now: number): Promise<string | Secret> {
    if (this.#userAssertion !== undefined) return takeUserToken(this.#userAssertion, ac);
    const subject = this.#subject as EntraSubjectSigner;
    return signSubjectAssertion({
      signer: subject.signer(),
      issuer: subject.issuer,
      audience: subject.audience ?? this.#authority.base,
      ac,
      now,
    });
  }

  #failure(err: unknown, trace: CallTrace): CredentialResolutionError {
    if (err instanceof CredentialResolutionError) return err;
    const reason = failureReason(err, trace);
    // The AS's error code, when it is one; never MSAL's message, which may quote it all.
    this.#log.warn(
      { backend: this.id, status: trace.status, error: trace.error, reason },
      'on-behalf-of token request failed',
    );
    return new CredentialResolutionError(reason);
  }
}
