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
 * What it cannot promise: the access token arrives inside a JSON reply, so it exists as
 * a JS string until collected; the broker copies it into a `Secret` at once and keeps no
 * other reference. Request bodies are built as Buffers and zero-filled after sending.
 */
import { deadline } from '../../base/deadline.js';
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
  CLIENT_ASSERTION_TYPE,
  type ClientAuth,
  defaultScopes,
  errorCodeOf,
  isResourceIndicator,
  isScopeToken,
  isWithinRequested,
  signClientAssertion,
  signSubjectAssertion,
  type SubjectSigner,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  unsafeJwtExpiry,
  unsafeJwtId,
  ACCESS_TOKEN,
  MAX_REPLY_BYTES,
  MAX_SCOPES,
  scopesOf,
} from '../oauth/assertions.js';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Replies larger than this are not read: a token reply is a few kilobytes. */
/** RFC 6750 b64token, generously: printable ASCII without spaces. */

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
  /** For tests; the global fetch by default. */
  fetch?: typeof fetch;
  /** Per-request timeout, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
}

type FormValue = string | Secret;
type FormFields = readonly (readonly [string, FormValue])[];

interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown> | undefined;
}

export class OAuthExchangeBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['oauth'] as const;
  readonly timeoutMs?: number;
  readonly #tokenEndpoint: string;
  readonly #revocationEndpoint: string | undefined;
  readonly #issuer: string;
  readonly #clientId: string;
  readonly #clientAuth: ClientAuth;
  readonly #subject: SubjectSigner | UserTokenSubject;
  readonly #scopesFor: (capabilities: readonly string[], target: string) => string[];
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #requestTimeoutMs: number;
  readonly #log: Logger;

  constructor(options: OAuthExchangeBackendOptions) {
    this.id = options.id ?? 'oauth-exchange';
    this.#tokenEndpoint = checkEndpoint('oauth-exchange.tokenEndpoint', options.tokenEndpoint);
    this.#revocationEndpoint =
      options.revocationEndpoint === undefined
        ? undefined
        : checkEndpoint('oauth-exchange.revocationEndpoint', options.revocationEndpoint);
    if (typeof options.issuer !== 'string' || options.issuer.length === 0) {
      throw new ConfigError('oauth-exchange.issuer', 'must be the authorization server issuer');
    }
    if (typeof options.clientId !== 'string' || options.clientId.length === 0) {
      throw new ConfigError('oauth-exchange.clientId', 'must not be empty');
    }
    checkClientAuth('oauth-exchange.clientAuth', options.clientAuth);
    if (options.timeoutMs !== undefined) {
      if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs >= 1)) {
        throw new ConfigError('oauth-exchange.timeoutMs', 'must be a positive number');
      }
      this.timeoutMs = options.timeoutMs;
    }
    this.#issuer = options.issuer;
    this.#clientId = options.clientId;
    this.#clientAuth = options.clientAuth;
    this.#subject = options.subject;
    this.#scopesFor = options.scopesFor ?? defaultScopes;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? fetch;
    this.#requestTimeoutMs = options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    this.#log = options.logger ?? silentLogger;
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
    const requested = scopesOf(this.#scopesFor, ac.capabilities, target);
    const started = this.#clock.now();
    if (!(ac.expires_at * 1000 > started)) {
      throw new CredentialResolutionError(BackendReasons.invalidRequest);
    }
    if (signal?.aborted === true) throw new CredentialResolutionError(BackendReasons.unavailable);

    const subject = await this.#subjectToken(ac, started);
    let reply: Reply;
    try {
      reply = await this.#post(
        this.#tokenEndpoint,
        [
          ['grant_type', GRANT_TYPE_TOKEN_EXCHANGE],
          ['subject_token', subject.token],
          ['subject_token_type', subject.type],
          ['requested_token_type', TOKEN_TYPE_ACCESS_TOKEN],
          ['resource', target],
          ['audience', target],
          ['scope', requested.join(' ')],
        ],
        signal,
      );
    } finally {
      if (subject.token instanceof Secret) subject.token.dispose();
    }
    if (reply.status !== 200) throw this.#refusal(reply, 'token exchange');
    return (await this.#credentialOf(reply.json, target, requested, started)) as CredentialOf<T>;
  }

  /** RFC 7009 revocation when an endpoint is configured. Never throws. */
  async revoke(credential: Credential): Promise<void> {
    if (this.#revocationEndpoint === undefined) return;
    if (credential.type !== 'oauth' || credential.issuedBy !== this.id) return;
    await this.#revokeToken(credential.accessToken);
  }

  async #revokeToken(token: Secret): Promise<void> {
    if (this.#revocationEndpoint === undefined) return;
    try {
      if (token.disposed) {
        this.#log.warn({ backend: this.id }, 'token already zero-filled; not revoked');
        return;
      }
      const reply = await this.#post(this.#revocationEndpoint, [
        ['token', token],
        ['token_type_hint', 'access_token'],
      ]);
      if (reply.status !== 200) {
        this.#log.warn(
          { backend: this.id, status: reply.status, error: errorCodeOf(reply.json) },
          'token revocation refused by the authorization server',
        );
      }
    } catch (err) {
      this.#log.warn(
        {
          backend: this.id,
          reason:
            err instanceof CredentialResolutionError ? err.reason : BackendReasons.unavailable,
        },
        'token revocation failed',
      );
    }
  }

  async #subjectToken(ac: AcContext, now: number): Promise<{ token: FormValue; type: string }> {
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
    let token: unknown;
    try {
      token = await subject.userToken(ac);
    } catch (err) {
      throw err instanceof CredentialResolutionError
        ? err
        : new CredentialResolutionError(BackendReasons.failed);
    }
    if (!(token instanceof Secret) || token.disposed) {
      throw new CredentialResolutionError(BackendReasons.misconfigured);
    }
    return { token, type: subject.tokenType ?? TOKEN_TYPE_ACCESS_TOKEN };
  }

  /** The credential in a 200 reply, or a refusal; a token that fails a check is revoked. */
  async #credentialOf(
    json: Record<string, unknown> | undefined,
    target: string,
    requested: readonly string[],
    started: number,
  ): Promise<OAuthCredential> {
    const raw = json?.['access_token'];
    if (typeof raw !== 'string' || !ACCESS_TOKEN.test(raw)) {
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    // The one unavoidable JS string: copy it into a Secret and drop the reply at once.
    const accessToken = Secret.fromString(raw);
    const jwtExp = unsafeJwtExpiry(raw);
    const id = unsafeJwtId(raw);
    const fields = replyFields(json ?? {}, requested);
    if (fields === undefined || !isWithinRequested(fields.scope, requested, target)) {
      // Issued but unusable (not an access token, no lifetime, broader than asked).
      await this.#revokeToken(accessToken);
      accessToken.dispose();
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    let expiresAt = started + fields.expiresIn * 1000;
    if (jwtExp !== undefined) expiresAt = Math.min(expiresAt, jwtExp * 1000);
    return {
      type: 'oauth',
      target,
      accessToken,
      tokenType: 'Bearer',
      scope: fields.scope,
      expiresAt: new Date(expiresAt),
      scopedTo: `${fields.scope.join(' ') || 'no scope'} at ${target}`,
      issuedBy: this.id,
      ...(id !== undefined ? { id } : {}),
    };
  }

  #refusal(reply: Reply, what: string): CredentialResolutionError {
    const reason: BackendReason =
      reply.status === 400 || reply.status === 401 || reply.status === 403
        ? BackendReasons.denied
        : reply.status === 429 || reply.status >= 500
          ? BackendReasons.unavailable
          : BackendReasons.failed;
    this.#log.warn(
      { backend: this.id, status: reply.status, error: errorCodeOf(reply.json), reason },
      `${what} refused by the authorization server`,
    );
    return new CredentialResolutionError(reason);
  }

  /** POSTs a form with client authentication; network failures are `backend_unavailable`. */
  async #post(url: string, fields: FormFields, signal?: AbortSignal): Promise<Reply> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const all: (readonly [string, FormValue])[] = [...fields];
    const auth = this.#clientAuth;
    if (auth.method === 'private_key_jwt') {
      all.push(
        ['client_id', this.#clientId],
        ['client_assertion_type', CLIENT_ASSERTION_TYPE],
        [
          'client_assertion',
          await signClientAssertion({
            signer: auth.signer(),
            clientId: this.#clientId,
            audience: this.#tokenEndpoint,
            now: this.#clock.now(),
          }),
        ],
      );
    } else {
      // The header must be a string; this is the client secret's one JS-string copy.
      headers['authorization'] = basicAuthorization(this.#clientId, auth.secret);
    }
    const body = formBody(all);
    const limit = deadline(this.#requestTimeoutMs, signal);
    try {
      const response = await this.#fetch(url, {
        method: 'POST',
        headers,
        body,
        // A redirect would send the client's credentials somewhere else.
        redirect: 'error',
        signal: limit.signal,
      });
      const bytes = await readCapped(response, MAX_REPLY_BYTES);
      return { status: response.status, json: jsonOf(response, bytes) };
    } catch {
      throw new CredentialResolutionError(BackendReasons.unavailable);
    } finally {
      limit.clear();
      body.fill(0);
    }
  }
}

/** The checked fields of a token exchange reply, besides the token; undefined if invalid. */
function replyFields(
  json: Record<string, unknown>,
  requested: readonly string[],
): { expiresIn: number; scope: string[] } | undefined {
  if (json['issued_token_type'] !== TOKEN_TYPE_ACCESS_TOKEN) return undefined;
  // Bearer only: a DPoP- or MTLS-bound token needs a key this backend does not hold.
  const tokenType = json['token_type'];
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') return undefined;
  const expiresIn = json['expires_in'];
  if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    return undefined;
  }
  const scope = json['scope'];
  if (scope === undefined) return { expiresIn, scope: [...requested] };
  if (typeof scope !== 'string' || scope.length > 8192) return undefined;
  const list = scope.split(' ').filter((s) => s !== '');
  if (list.length > MAX_SCOPES || !list.every(isScopeToken)) return undefined;
  return { expiresIn, scope: list };
}

async function readCapped(response: Response, max: number): Promise<Buffer | undefined> {
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > max) return undefined;
      chunks.push(Buffer.from(chunk));
      chunk.fill(0);
    }
    return Buffer.concat(chunks, total);
  } finally {
    for (const chunk of chunks) chunk.fill(0);
  }
}

/** A JSON object from a JSON reply, or undefined; the raw bytes are zero-filled. */
function jsonOf(
  response: Response,
  bytes: Buffer | undefined,
): Record<string, unknown> | undefined {
  if (bytes === undefined) return undefined;
  try {
    const type = response.headers.get('content-type') ?? '';
    if (!/^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i.test(type)) return undefined;
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  } finally {
    bytes.fill(0);
  }
}

const FORM_SAFE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._') {
  FORM_SAFE[c.charCodeAt(0)] = 1;
}
const HEX = '0123456789ABCDEF';

function encodedLength(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n += FORM_SAFE[b] === 1 || b === 0x20 ? 1 : 3;
  return n;
}

function writeEncoded(bytes: Uint8Array, out: Buffer, at: number): number {
  let i = at;
  for (const b of bytes) {
    if (FORM_SAFE[b] === 1) out[i++] = b;
    else if (b === 0x20) out[i++] = 0x2b;
    else {
      out[i++] = 0x25;
      out[i++] = HEX.charCodeAt(b >> 4);
      out[i++] = HEX.charCodeAt(b & 15);
    }
  }
  return i;
}

/**
 * application/x-www-form-urlencoded, built in one Buffer the caller zero-fills after
 * sending: a Secret value is encoded from its bytes and never becomes a JS string.
 */
export function formBody(fields: FormFields): Buffer {
  const encoded = fields.map(([name, value]) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : undefined;
    return { name: Buffer.from(name, 'utf8'), value, bytes };
  });
  const sizeOf = (e: (typeof encoded)[number]): number =>
    e.bytes !== undefined ? encodedLength(e.bytes) : (e.value as Secret).use(encodedLength);
  const total = encoded.reduce((n, e) => n + encodedLength(e.name) + 1 + sizeOf(e), 0);
  const out = Buffer.alloc(total + Math.max(0, encoded.length - 1));
  let at = 0;
  encoded.forEach((e, index) => {
    if (index > 0) out[at++] = 0x26;
    at = writeEncoded(e.name, out, at);
    out[at++] = 0x3d;
    at =
      e.bytes !== undefined
        ? writeEncoded(e.bytes, out, at)
        : (e.value as Secret).use((b) => writeEncoded(b, out, at));
    e.bytes?.fill(0);
  });
  return out;
}

/** RFC 6749 §2.3.1: both halves form-encoded, then base64. */
function basicAuthorization(clientId: string, secret: Secret): string {
  const id = Buffer.from(clientId, 'utf8');
  const joined = secret.use((s) => {
    const buf = Buffer.alloc(encodedLength(id) + 1 + encodedLength(s));
    let at = writeEncoded(id, buf, 0);
    buf[at++] = 0x3a;
    writeEncoded(s, buf, at);
    return buf;
  });
  try {
    return `Basic ${joined.toString('base64')}`;
  } finally {
    joined.fill(0);
  }
}
