/**
 * Shared pieces of the Bascule tests: a real JWKS server (node:http on 127.0.0.1:0) that
 * counts its fetches, a broker signing key, grants minted with the real `signAc`, and HTTP
 * calls over TCP (fetch) or a Unix socket (http.request).
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AcClaims, signAc } from '../../src/governance/ac.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';

export const NAME = 'web1.internal.test';
export const ISSUER = 'urn:bastion:broker';
export const principal = generatePrincipalKey();

export interface BrokerKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

export function brokerKey(kid: string): BrokerKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { kty, crv, x } = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, jwk: { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' } };
}

export interface JwksServer {
  readonly url: string;
  /** Requests served so far. */
  fetches: number;
  /** What the next fetch returns. */
  keys: Record<string, unknown>[];
  /** Replaces the response entirely (status and raw body); undefined restores the JWKS. */
  raw: { status: number; body: string } | undefined;
  /** Never answer (for timeouts). */
  hang: boolean;
  close(): Promise<void>;
}

export async function startJwksServer(keys: Record<string, unknown>[]): Promise<JwksServer> {
  const state: JwksServer = {
    url: '',
    fetches: 0,
    keys,
    raw: undefined,
    hang: false,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
  const server = createServer((req, res) => {
    state.fetches += 1;
    if (state.hang) return;
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    const { status, body } = state.raw ?? {
      status: 200,
      body: JSON.stringify({ keys: state.keys }),
    };
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}/.well-known/jwks.json` });
}

export interface GrantOptions {
  readonly key: BrokerKey;
  /** Epoch ms the grant is minted at. */
  readonly now: number;
  readonly claims?: Partial<AcClaims> & Record<string, unknown>;
  readonly ctx?: Partial<AcClaims['ctx']>;
}

/** A grant as the broker mints it: 60 s, single use, for NAME, exec. */
export function mintGrant(options: GrantOptions): Promise<string> {
  const iat = Math.floor(options.now / 1000);
  const claims: AcClaims = {
    iss: ISSUER,
    sub: principal.did,
    aud: `urn:bastion:bascule:${NAME}`,
    jti: randomUUID(),
    iat,
    nbf: iat,
    exp: iat + 60,
    cnf: { jkt: options.key.kid },
    ac: '6f1c2b9e-0000-4000-8000-00000000000a',
    ctx: {
      principal_did: principal.did,
      capability_mask: 2,
      capabilities: ['exec'],
      accord_template: 'ops-exec',
      connector: 'bascule',
      target: NAME,
      ...options.ctx,
    },
    ...options.claims,
  };
  return signAc(claims, { kid: options.key.kid, privateKey: options.key.privateKey });
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
}

export interface CallOptions {
  readonly grant?: string | undefined;
  readonly body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  readonly rawBody?: string;
  readonly contentType?: string;
  readonly method?: string;
  readonly path?: string;
}

/** One request to Bascule at `url` (`http://…` or `unix:/path`). */
export function call(url: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.grant !== undefined) headers['authorization'] = `Bearer ${options.grant}`;
  const payload =
    options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const target = url.startsWith('unix:')
    ? { socketPath: url.slice('unix:'.length) }
    : { host: new URL(url).hostname, port: Number(new URL(url).port) };
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      {
        ...target,
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        path: options.path ?? '/v1/exec',
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON: kept as text.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A grant-carrying exec call. */
export function exec(url: string, grant: string, argv: unknown[], stdin?: string): Promise<Reply> {
  return call(url, { grant, body: stdin === undefined ? { argv } : { argv, stdin } });
}
