/**
 * The `oauth-exchange` backend: per invocation, an RFC 8693 token exchange at any OAuth 2.0
 * authorization server, so the broker holds no standing token for any API. The broker
 * presents a subject token — by default a 60-second JWT it signs itself naming the AC's
 * principal (and delegation chain) — and asks for an access token for exactly one resource
 * (`resource` = `audience` = the target, RFC 8707) with the scopes the AC's capabilities
 * map to; it authenticates with an RFC 7523 client assertion (private_key_jwt) or, where
 * the server cannot do better, client_secret_basic. `revoke` is RFC 7009 at the server's
 * revocation endpoint, when configured; the server is expected to issue tokens of at most
 * 5 minutes, which the resolver enforces.
 *
 * This file is the backend itself (options, resolve, revoke); the request and reply of
 * the exchange are in token-exchange.ts, the HTTP client in form-client.ts, form encoding
 * in form.ts and revocation in revocation.ts.
 *
 * What it cannot promise: the access token arrives inside a JSON reply, so it exists as
 * a JS string until collected; the broker copies it into a `Secret` at once and keeps no
 * other reference. Request bodies are built as Buffers and zero-filled after sending.
 */
import { type Clock, systemClock } from '../../base/clock.js';
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
  DpopKey,
  OAuthCredential,
  SenderConstrained,
} from '../../credentials/types.js';
import { SENDER_CONSTRAINED } from '../../credentials/types.js';
import { newDpopKey, signDpopProof } from '../../governance/dpop-key.js';
import {
  type ClientAuth,
  signSubjectAssertion,
  type SubjectSigner,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
} from '../oauth/assertions.js';
import { checkClientAuth, checkClientId, checkEndpoint, checkTimeoutMs } from '../oauth/config.js';
import { accessTokenOf, issuedCredential } from '../oauth/credential.js';
import { type OAuthRequest, oauthGuard } from '../oauth/oauth-guard.js';
import { errorCodeOf, statusReason } from '../oauth/reply.js';
import { defaultScopes, isWithinRequested } from '../oauth/scopes.js';
import { takeUserToken } from '../oauth/user-token.js';
import { guardResolve, type ResolveGuard } from '../resolve-guard.js';
import { nodeFetch } from './node-fetch.js';
import { FormClient, type Reply } from './form-client.js';
import { type Revocation, revokeToken } from './revocation.js';
import { exchangeRequest, replyFields, type SubjectToken } from './token-exchange.js';

/**
 * A user token the deployment obtained (e.g. the token an MCP client presented), handed
 * to the exchange instead of a broker-signed subject assertion. The backend takes
 * ownership of the returned Secret and zero-fills it after the exchange.
 */
export interface UserTokenSubject {
  readonly userToken: (ac: AcContext) => Promise<Secret>;
  /** Its RFC 8693 token type; default `urn:ietf:params:oauth:token-type:access_token`. */
  readonly tokenType?: string;
}

export interface OAuthExchangeBackendOptions {
  id?: string;
  /** https, or http to a loopback address (tests). */
  tokenEndpoint: string;
  /** RFC 7009 endpoint; without it `revoke` has nothing to call and tokens simply expire. */
  revocationEndpoint?: string;
  /** The authorization server's issuer: the audience of the broker's subject assertions. */
  issuer: string;
  clientId: string;
  clientAuth: ClientAuth;
  /** Broker-signed subject assertion (the default), or a deployment-supplied user token. */
  subject: SubjectSigner | UserTokenSubject;
  /**
   * The scopes to ask for. Default: one per AC capability, `<target>/<capability>`
   * (e.g. `https://api.test/read`); see `defaultScopes`.
   */
  scopesFor?: (capabilities: readonly string[], target: string) => string[];
  clock?: Clock;
  /** For tests; by default node:http(s), not the global fetch (see node-fetch.ts). */
  fetch?: typeof fetch;
  /** Per-request timeout, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
  /**
   * RFC 9449: ask for a DPoP-bound token with a per-invocation key. `required` refuses a
   * bearer token, `preferred` (the default) accepts one from a server without DPoP, `off`
   * sends no proof. An accord's `oauth.sender_constrained` (in the AC) decides instead.
   */
  senderConstrained?: SenderConstrained;
}

export class OAuthExchangeBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['oauth'] as const;
  readonly timeoutMs?: number;
  readonly #tokenEndpoint: string;
  readonly #revocation: Revocation | undefined;
  readonly #issuer: string;
  readonly #subject: SubjectSigner | UserTokenSubject;
  readonly #guard: ResolveGuard<OAuthRequest>;
  readonly #client: FormClient;
  readonly #log: Logger;
  readonly #senderConstrained: SenderConstrained;

  constructor(options: OAuthExchangeBackendOptions) {
    this.id = options.id ?? 'oauth-exchange';
    this.#tokenEndpoint = checkEndpoint('oauth-exchange.tokenEndpoint', options.tokenEndpoint);
    const revocationEndpoint =
      options.revocationEndpoint === undefined
        ? undefined
        : checkEndpoint('oauth-exchange.revocationEndpoint', options.revocationEndpoint);
    if (typeof options.issuer !== 'string' || options.issuer.length === 0) {
      throw new ConfigError('oauth-exchange.issuer', 'must be the authorization server issuer');
    }
    checkClientId('oauth-exchange.clientId', options.clientId);
    checkClientAuth('oauth-exchange.clientAuth', options.clientAuth);
    const timeoutMs = checkTimeoutMs('oauth-exchange.timeoutMs', options.timeoutMs);
    if (timeoutMs !== undefined) this.timeoutMs = timeoutMs;
    this.#issuer = options.issuer;
    this.#subject = options.subject;
    const clock = options.clock ?? systemClock;
    this.#guard = oauthGuard(options.scopesFor ?? defaultScopes, clock);
    this.#log = options.logger ?? silentLogger;
    this.#senderConstrained = options.senderConstrained ?? 'preferred';
    if (!SENDER_CONSTRAINED.includes(this.#senderConstrained)) {
      throw new ConfigError(
        'oauth-exchange.senderConstrained',
        'must be required, preferred or off',
      );
    }
    this.#client = new FormClient({
      clientId: options.clientId,
      clientAuth: options.clientAuth,
      assertionAudience: this.#tokenEndpoint,
      clock,
      fetch: options.fetch ?? nodeFetch,
      timeoutMs: timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
    });
    this.#revocation =
      revocationEndpoint === undefined
        ? undefined
        : { backend: this.id, endpoint: revocationEndpoint, client: this.#client, log: this.#log };
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
  ): Promise<CredentialOf<T>> {
    const { scopes, started } = guardResolve(this.#guard, type, target, ac, signal);
    const subject = await this.#subjectToken(ac, started);
    const mode = ac.sender_constrained ?? this.#senderConstrained;
    // The key lives as long as the token it is bound to: the credential takes it, or it
    // is zero-filled here.
    const key = mode === 'off' ? undefined : newDpopKey();
    let reply: Reply;
    try {
      const proof =
        key === undefined
          ? undefined
          : { dpop: await signDpopProof(key, 'POST', this.#tokenEndpoint) };
      reply = await this.#client.post(
        this.#tokenEndpoint,
        exchangeRequest(subject, target, scopes),
        signal,
        proof,
      );
    } catch (err) {
      key?.seed.dispose();
      throw err;
    } finally {
      if (subject.token instanceof Secret) subject.token.dispose();
    }
    try {
      const credential = await this.#issued(reply, target, scopes, started, key, mode);
      // A bearer token (a server without DPoP, `preferred`): the key bound nothing.
      if (credential.dpop === undefined) key?.seed.dispose();
      return credential as CredentialOf<T>;
    } catch (err) {
      key?.seed.dispose();
      throw err;
    }
  }

  async #issued(
    reply: Reply,
    target: string,
    scopes: readonly string[],
    started: number,
    key: DpopKey | undefined,
    mode: SenderConstrained,
  ): Promise<OAuthCredential> {
    if (reply.status !== 200) {
      const reason = statusReason(reply.status) ?? BackendReasons.failed;
      this.#log.warn(
        { backend: this.id, status: reply.status, error: errorCodeOf(reply.json), reason },
        'token exchange refused by the authorization server',
      );
      throw new CredentialResolutionError(reason);
    }
    return this.#credentialOf(reply.json, target, scopes, started, key, mode);
  }

  /** RFC 7009 revocation when an endpoint is configured. Never throws. */
  async revoke(credential: Credential): Promise<void> {
    if (this.#revocation === undefined) return;
    if (credential.type !== 'oauth' || credential.issuedBy !== this.id) return;
    await revokeToken(this.#revocation, credential.accessToken);
  }

  async #subjectToken(ac: AcContext, now: number): Promise<SubjectToken> {
    const subject = this.#subject;
    if ('signer' in subject) {
      const token = await signSubjectAssertion({
        signer: subject.signer(),
        issuer: subject.issuer,
        audience: this.#issuer,
        ac,
        now,
      });
      return { token, type: TOKEN_TYPE_JWT };
    }
    const token = await takeUserToken(subject.userToken, ac);
    return { token, type: subject.tokenType ?? TOKEN_TYPE_ACCESS_TOKEN };
  }

  /** The credential in a 200 reply, or a refusal; a token that fails a check is revoked. */
  async #credentialOf(
    json: Record<string, unknown> | undefined,
    target: string,
    requested: readonly string[],
    started: number,
    key: DpopKey | undefined,
    mode: SenderConstrained,
  ): Promise<OAuthCredential> {
    const token = accessTokenOf(json?.['access_token']);
    const fields = replyFields(json ?? {}, requested, key !== undefined);
    if (
      fields === undefined ||
      !isWithinRequested(fields.scope, requested, target) ||
      (!fields.dpop && mode === 'required')
    ) {
      // Issued but unusable (not an access token, no lifetime, broader than asked, or a
      // bearer token where only a DPoP-bound one will do).
      const unusable = Secret.fromString(token);
      if (this.#revocation !== undefined) await revokeToken(this.#revocation, unusable);
      unusable.dispose();
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    return issuedCredential({
      token,
      target,
      scope: fields.scope,
      expiresAt: started + fields.expiresIn * 1000,
      issuedBy: this.id,
      dpop: fields.dpop ? key : undefined,
    });
  }
}
