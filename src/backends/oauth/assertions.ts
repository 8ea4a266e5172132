/**
 * What the two OAuth backends (RFC 8693 token exchange, Entra on-behalf-of) share: the two
 * JWTs the broker signs with its own key — the RFC 7523 client assertion that
 * authenticates the broker to an authorization server (private_key_jwt), and the subject
 * assertion that says, for one invocation, which principal (and which delegation chain) the
 * broker asks for — plus the default capability → scope mapping, the unverified reads of
 * a returned token's `exp` and id, and the configuration checks both apply. Both JWTs live 60 seconds at most and carry a fresh
 * `jti`, so an authorization server that remembers jtis refuses a replay.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { SignJWT } from 'jose';
import { Secret } from '../../credentials/secret.js';
import type { AcContext } from '../../credentials/types.js';
import type { AcSigner } from '../../base/signer.js';
import { ConfigError } from '../../base/errors.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
/** Lifetime of every assertion the broker signs: long enough for one request, no more. */
export const ASSERTION_TTL_SECONDS = 60;

/**
 * How the broker authenticates to the authorization server. `private_key_jwt` (the
 * default everywhere) signs a fresh RFC 7523 assertion per request with the broker's key;
 * `client_secret_basic` holds a long-lived shared secret in the broker and is only for
 * servers that cannot do better.
 */
export type ClientAuth =
  | { readonly method: 'private_key_jwt'; readonly signer: () => AcSigner }
  | { readonly method: 'client_secret_basic'; readonly secret: Secret };

/** Where the broker-signed subject assertion comes from: the broker's key and issuer. */
export interface SubjectSigner {
  readonly signer: () => AcSigner;
  /** The broker's issuer: the assertion's `iss`. */
  readonly issuer: string;
}

/** `typ` of both assertions: plain JWT, which every authorization server accepts. */
const JWT_TYP = 'JWT';

/**
 * The RFC 7523 §2.2 client assertion: `iss` = `sub` = the client id, `aud` = the token
 * endpoint (or the issuer), a fresh `jti`, `exp` 60 s after `iat`. EdDSA, header `kid`.
 */
export function signClientAssertion(options: {
  signer: AcSigner;
  clientId: string;
  audience: string;
  /** Epoch ms. */
  now: number;
}): Promise<string> {
  const iat = Math.floor(options.now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: JWT_TYP, kid: options.signer.kid })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.audience)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_TTL_SECONDS)
    .sign(options.signer.privateKey);
}

/**
 * The subject assertion for one invocation: `iss` = the broker, `sub` = the AC's
 * principal, `aud` = the authorization server, a fresh `jti`, and `exp` 60 s after `iat`
 * but never past the AC. A delegated AC's `act` chain is copied as is, so the server can
 * carry it into the token it issues. Nothing else of the AC leaves the broker.
 */
export function signSubjectAssertion(options: {
  signer: AcSigner;
  issuer: string;
  audience: string;
  ac: AcContext;
  /** Epoch ms. */
  now: number;
}): Promise<string> {
  const { ac } = options;
  const iat = Math.floor(options.now / 1000);
  const exp = Math.min(iat + ASSERTION_TTL_SECONDS, ac.expires_at);
  return new SignJWT(ac.act !== undefined ? { act: ac.act } : {})
    .setProtectedHeader({ alg: 'EdDSA', typ: JWT_TYP, kid: options.signer.kid })
    .setIssuer(options.issuer)
    .setSubject(ac.principal_did)
    .setAudience(options.audience)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(options.signer.privateKey);
}

/** RFC 6749 §3.3 scope-token characters: printable ASCII less space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,512}$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** The target as a scope prefix: a resource indicator without trailing slashes. */
export function scopeBase(target: string): string {
  return target.replace(/\/+$/, '');
}

/**
 * The default capability → scope mapping: one scope per AC capability, named
 * `<target>/<capability>` (e.g. `https://api.test/read`), the Entra convention for a
 * resource's permissions. The authorization server then intersects with what the
 * resource offers, so the token never carries more than the AC's capabilities.
 */
export function defaultScopes(capabilities: readonly string[], target: string): string[] {
  const base = scopeBase(target);
  return [...new Set(capabilities.map((capability) => `${base}/${capability}`))];
}

/**
 * True when every scope the server granted was asked for, either exactly or by its short
 * name (`read` for a requested `<target>/read`): a token broader than asked is refused.
 */
export function isWithinRequested(
  granted: readonly string[],
  requested: readonly string[],
  target: string,
): boolean {
  const base = scopeBase(target) + '/';
  const allowed = new Set<string>();
  for (const scope of requested) {
    allowed.add(scope);
    if (scope.startsWith(base)) allowed.add(scope.slice(base.length));
  }
  return granted.every((scope) => allowed.has(scope));
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/;

/**
 * The payload of a compact JWS, decoded WITHOUT verifying anything. The broker is not
 * the token's audience and holds no key to verify it; the claims read here may only make
 * the broker more careful (an earlier expiry), never grant anything.
 */
function unsafePayload(token: string): Record<string, unknown> | undefined {
  const match = token.length <= 16_384 ? COMPACT_JWS.exec(token) : null;
  if (match === null) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(match[1] ?? '', 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JWT access token's own `exp` (epoch seconds), read WITHOUT verifying the token: used
 * only to shorten the window the broker trusts, never to lengthen it. Undefined for an
 * opaque or encrypted token, or a JWT without a numeric `exp`.
 */
export function unsafeJwtExpiry(token: string): number | undefined {
  const exp = unsafePayload(token)?.['exp'];
  return typeof exp === 'number' && Number.isSafeInteger(exp) && exp > 0 ? exp : undefined;
}

const TOKEN_ID = /^[A-Za-z0-9._~:+/=-]{1,128}$/;

/**
 * A JWT access token's id, unverified, for audit correlation: `jti`, or Entra's `uti`.
 * Only an id-shaped value is returned, so a hostile claim cannot smuggle text into logs.
 */
export function unsafeJwtId(token: string): string | undefined {
  const payload = unsafePayload(token);
  for (const claim of ['jti', 'uti']) {
    const value = payload?.[claim];
    if (typeof value === 'string' && TOKEN_ID.test(value)) return value;
  }
  return undefined;
}

/** An RFC 8707 resource indicator: an absolute URI without a fragment. */
export function isResourceIndicator(target: string): boolean {
  if (target.length > 2048 || target.includes('#')) return false;
  try {
    return new URL(target).protocol.length > 1;
  } catch {
    return false;
  }
}

function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** An endpoint URL, checked at start: https, or http only to a loopback address. */
export function checkEndpoint(where: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(where, 'must be an absolute https URL');
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    throw new ConfigError(where, 'must not carry credentials or a fragment');
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) {
    // As written: it is also the audience of client assertions, compared as a string.
    return raw;
  }
  throw new ConfigError(where, 'must be https (plain http only to a loopback address)');
}

export function checkClientAuth(where: string, auth: ClientAuth): void {
  if (auth.method === 'private_key_jwt' && typeof auth.signer === 'function') return;
  if (
    auth.method === 'client_secret_basic' &&
    auth.secret instanceof Secret &&
    !auth.secret.disposed
  )
    return;
  throw new ConfigError(where, 'must be private_key_jwt with a signer or client_secret_basic');
}

/** An authorization server's `error` code, logged only when it has this shape. */
const ERROR_CODE = /^[a-z_]{1,64}$/;

/** The `error` of an OAuth error reply, when it is a plain code: never its description. */
export function errorCodeOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const code = (json as Record<string, unknown>)['error'];
  return typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;
}

/** Reply bodies an OAuth backend reads at most. */
export const MAX_REPLY_BYTES = 64 * 1024;
/** Printable ASCII: what an access token may be made of. */
export const ACCESS_TOKEN = /^[\x21-\x7E]{1,16384}$/;
export const MAX_SCOPES = 64;

/**
 * The scopes to ask for, from a deployment's mapping of capabilities: a non-empty list of
 * valid, distinct scope tokens, or an invalid-request refusal (the mapping is ours to fix).
 */
export function scopesOf(
  scopesFor: (capabilities: readonly string[], target: string) => string[],
  capabilities: readonly string[],
  target: string,
): string[] {
  let scopes: unknown;
  try {
    scopes = scopesFor(capabilities, target);
  } catch {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    scopes.length > MAX_SCOPES ||
    !scopes.every((s): s is string => typeof s === 'string' && isScopeToken(s))
  ) {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  return [...new Set(scopes)];
}
