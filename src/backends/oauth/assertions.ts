/**
 * The two JWTs the broker signs with its own key for an authorization server: the RFC 7523
 * client assertion that authenticates the broker (private_key_jwt), and the subject
 * assertion that says, for one invocation, which principal (and which delegation chain)
 * the broker asks for. Both live 60 seconds at most and carry a fresh `jti`, so an
 * authorization server that remembers jtis refuses a replay.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Secret } from '../../credentials/secret.js';
import type { AcContext } from '../../credentials/types.js';
import type { AcSigner } from '../../base/signer.js';

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
