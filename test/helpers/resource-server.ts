/**
 * A small protected API for tests: what a real resource server does with the broker's
 * OAuth tokens. It accepts `Authorization: Bearer <jwt>` only when jose verifies the token
 * against the authorization server's JWKS (`createRemoteJWKSet`) with the expected issuer,
 * audience and `typ: at+jwt`, unexpired, and with the required scope in `scope` (or
 * Entra's `scp`). Replies: 200 `{ok: true, sub, act}`; 401 with no or a bad token; 403
 * with a valid token lacking the scope. Every Authorization header it saw is kept in
 * `seen`, so a test can tell what the broker sent.
 *
 * DPoP (RFC 9449 §7): a token whose `cnf.jkt` binds it to a key is accepted only as
 * `Authorization: DPoP <token>` with one `DPoP` proof that jose verifies with its embedded
 * key (`typ: dpop+jwt`), whose htm and htu are this request's, whose `ath` is the token's
 * hash, whose key's thumbprint is the token's `cnf.jkt`, recent (`iat` within a minute) and
 * not seen before (`jti`). Presented as a bearer token it is refused, as is a `DPoP` token
 * without `cnf.jkt`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  customFetch,
  EmbeddedJWK,
  type FetchImplementation,
  type JWTPayload,
  jwtVerify,
} from 'jose';

export interface ResourceServerOptions {
  issuer: string;
  jwksUri: string;
  /** The resource indicator tokens must be issued for (`aud`); default this server's URL. */
  audience?: string;
  /** A bare scope name, e.g. `read`. */
  requiredScope: string;
  /** A CA (PEM) to trust when fetching an https JWKS (a self-signed test server). */
  ca?: string;
}

export interface ResourceServer {
  readonly url: string;
  readonly seen: { authorization: string; dpop?: string }[];
  close(): Promise<void>;
}

/** jose's fetch hook over node:https, trusting `ca` besides the system roots. */
function fetchTrusting(ca: string): FetchImplementation {
  return (url, options) =>
    new Promise((resolve, reject) => {
      const parsed = new URL(url);
      const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        parsed,
        {
          method: options.method,
          headers: Object.fromEntries(options.headers),
          signal: options.signal,
          ...(parsed.protocol === 'https:' ? { ca: [...rootCertificates, ca] } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () =>
            resolve(
              new Response(Buffer.concat(chunks), {
                status: res.statusCode ?? 500,
                headers: { 'content-type': String(res.headers['content-type'] ?? '') },
              }),
            ),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
}

/**
 * RFC 9449 §4.3 and §7.1: the proof fits this request, this token and the token's key.
 * Also the zero-credential proof's APIs' check (test/zero-credential/world.ts).
 */
export async function proofHolds(
  req: IncomingMessage,
  url: string,
  token: string,
  payload: JWTPayload,
  seenJtis: Set<string>,
): Promise<boolean> {
  const jkt = (payload['cnf'] as { jkt?: unknown } | undefined)?.jkt;
  const proof = req.headers['dpop'];
  if (typeof jkt !== 'string' || typeof proof !== 'string') return false;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
    const { htm, htu, ath, iat, jti } = verified.payload as Record<string, unknown>;
    const path = new URL(req.url ?? '/', url).pathname;
    const fresh = typeof jti === 'string' && !seenJtis.has(jti);
    if (fresh) seenJtis.add(jti);
    return (
      fresh &&
      htm === req.method &&
      htu === `${url}${path}` &&
      ath === createHash('sha256').update(token).digest('base64url') &&
      typeof iat === 'number' &&
      Math.abs(iat - Date.now() / 1000) <= 60 &&
      (await calculateJwkThumbprint(verified.protectedHeader.jwk ?? {})) === jkt
    );
  } catch {
    return false;
  }
}

export async function startResourceServer(options: ResourceServerOptions): Promise<ResourceServer> {
  const jwks = createRemoteJWKSet(
    new URL(options.jwksUri),
    options.ca !== undefined ? { [customFetch]: fetchTrusting(options.ca) } : {},
  );
  const seen: { authorization: string; dpop?: string }[] = [];
  const seenJtis = new Set<string>();
  let url = '';

  const server = createServer((req, res) => {
    const reply = (status: number, body: object, challenge?: string): void => {
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(challenge !== undefined ? { 'www-authenticate': challenge } : {}),
      });
      res.end(JSON.stringify(body));
    };
    const authorization = req.headers.authorization;
    const dpop = req.headers['dpop'];
    if (authorization !== undefined) {
      seen.push({ authorization, ...(typeof dpop === 'string' ? { dpop } : {}) });
    }
    const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '');
    const token = match?.[2];
    if (token === undefined) {
      reply(401, { error: 'invalid_request' }, 'Bearer');
      return;
    }
    const scheme = match?.[1];
    jwtVerify(token, jwks, {
      issuer: options.issuer,
      audience: options.audience ?? url,
      typ: 'at+jwt',
      requiredClaims: ['exp', 'sub'],
    }).then(
      async ({ payload }) => {
        // A bound token only with a proof of its key; a DPoP header only with a bound token.
        const bound = payload['cnf'] !== undefined;
        if (
          (scheme === 'Bearer' && bound) ||
          (scheme === 'DPoP' && !(await proofHolds(req, url, token, payload, seenJtis)))
        ) {
          reply(401, { error: 'invalid_token' }, 'DPoP error="invalid_token"');
          return;
        }
        const granted = [payload['scope'], payload['scp']]
          .filter((s): s is string => typeof s === 'string')
          .flatMap((s) => s.split(' '));
        if (!granted.includes(options.requiredScope)) {
          reply(
            403,
            { error: 'insufficient_scope' },
            `Bearer error="insufficient_scope", scope="${options.requiredScope}"`,
          );
          return;
        }
        reply(200, { ok: true, sub: payload.sub, act: payload['act'] });
      },
      () => reply(401, { error: 'invalid_token' }, 'Bearer error="invalid_token"'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
