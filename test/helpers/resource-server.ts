/**
 * A small protected API for tests: what a real resource server does with the broker's
 * OAuth tokens. It accepts `Authorization: Bearer <jwt>` only when jose verifies the token
 * against the authorization server's JWKS (`createRemoteJWKSet`) with the expected issuer,
 * audience and `typ: at+jwt`, unexpired, and with the required scope in `scope` (or
 * Entra's `scp`). Replies: 200 `{ok: true, sub, act}`; 401 with no or a bad token; 403
 * with a valid token lacking the scope. Every Authorization header it saw is kept in
 * `seen`, so a test can tell what the broker sent.
 */
import { createServer, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import { createRemoteJWKSet, customFetch, type FetchImplementation, jwtVerify } from 'jose';

export interface ResourceServerOptions {
  issuer: string;
  jwksUri: string;
  /** The resource indicator tokens must be issued for (`aud`). */
  audience: string;
  /** A bare scope name, e.g. `read`. */
  requiredScope: string;
  /** A CA (PEM) to trust when fetching an https JWKS (a self-signed test server). */
  ca?: string;
}

export interface ResourceServer {
  readonly url: string;
  readonly seen: { authorization: string }[];
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

export async function startResourceServer(options: ResourceServerOptions): Promise<ResourceServer> {
  const jwks = createRemoteJWKSet(
    new URL(options.jwksUri),
    options.ca !== undefined ? { [customFetch]: fetchTrusting(options.ca) } : {},
  );
  const seen: { authorization: string }[] = [];

  const server = createServer((req, res) => {
    const reply = (status: number, body: object, challenge?: string): void => {
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(challenge !== undefined ? { 'www-authenticate': challenge } : {}),
      });
      res.end(JSON.stringify(body));
    };
    const authorization = req.headers.authorization;
    if (authorization !== undefined) seen.push({ authorization });
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '');
    if (match?.[1] === undefined) {
      reply(401, { error: 'invalid_request' }, 'Bearer');
      return;
    }
    jwtVerify(match[1], jwks, {
      issuer: options.issuer,
      audience: options.audience,
      typ: 'at+jwt',
      requiredClaims: ['exp', 'sub'],
    }).then(
      ({ payload }) => {
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
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
