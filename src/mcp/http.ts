/**
 * The bridge over MCP's Streamable HTTP transport, for hosts that reach tools by URL rather
 * than by starting a process. Stateless: every POST gets a new server and transport (what
 * the bridge holds lives with its client, see bridge.ts). It listens on loopback unless told
 * otherwise, and every request must carry `Authorization: Bearer <token>`: the token the
 * bridge generated (or read) at start, compared in constant time. Before that, the `Host`
 * and `Origin` headers are checked, as the MCP spec asks of a local server (DNS rebinding:
 * a page in a browser must not reach the bridge through a name it controls).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Secret } from '../credentials/secret.js';
import { BastionError, type ErrorCode } from '../base/errors.js';
import { listenFailed } from '../base/system-errors.js';
import { installClientErrorHandling, sendError } from '../edge/errors.js';

const EDGE = { challenge: 'Bearer realm="bastion-mcp"' } as const;

export const MCP_PATH = '/mcp';
/** JSON-RPC requests are small; an invoke's stdin is at most 64 KiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const BEARER = /^Bearer ([\x21-\x7e]{1,1024})$/i;

export interface McpHttpOptions {
  /** A new bridge server per request. */
  bridge: () => McpServer;
  host: string;
  port: number;
  /** The bearer token clients must send; read on every request, so disposing it locks all out. */
  token: Secret;
  maxBodyBytes?: number;
  /**
   * `Host` values accepted besides the listening address (`name:port`, as a proxy sends
   * them). On loopback, the loopback names with the bridge's port are accepted too; on
   * another address with none given, any Host is (a remote bridge sits behind a proxy).
   */
  allowedHosts?: readonly string[];
  /**
   * `Origin` values accepted (`https://name[:port]`, exact). A request without `Origin`
   * (not from a browser) is accepted; with one not listed, refused. Default: none.
   */
  allowedOrigins?: readonly string[];
}

export interface RunningMcpHttp {
  /** `http://HOST:PORT/mcp` */
  readonly url: string;
  close(): Promise<void>;
}

function sha256(bytes: Uint8Array | string): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function authorized(header: string | undefined, token: Secret): boolean {
  const presented = BEARER.exec(header ?? '')?.[1];
  if (presented === undefined) return false;
  try {
    const expected = token.use((bytes) => sha256(bytes));
    return timingSafeEqual(sha256(presented), expected);
  } catch {
    // A disposed token admits nobody.
    return false;
  }
}

function refuse(res: ServerResponse, code: ErrorCode, headers: Record<string, string> = {}): void {
  sendError(res, new BastionError(code), EDGE, headers);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export async function startMcpHttp(options: McpHttpOptions): Promise<RunningMcpHttp> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const origins = new Set(options.allowedOrigins ?? []);
  let hostAllowed: (host: string | undefined) => boolean = () => false; // set once listening

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host)) {
      refuse(res, 'mcp_host_refused');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      refuse(res, 'mcp_origin_refused');
      return;
    }
    // Then authentication: without the token, nothing about the server is revealed.
    if (!authorized(req.headers.authorization, options.token)) {
      refuse(res, 'mcp_unauthorized');
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== MCP_PATH) {
      refuse(res, 'not_found');
      return;
    }
    // Stateless: no server-to-client stream (GET) and no session to end (DELETE).
    if (req.method !== 'POST') {
      refuse(res, 'method_not_allowed', { allow: 'POST' });
      return;
    }
    if (!/^application\/json\s*(?:;|$)/i.test(req.headers['content-type'] ?? '')) {
      refuse(res, 'unsupported_media_type');
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      refuse(res, 'payload_too_large', { connection: 'close' });
      req.resume();
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, maxBody)).toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        refuse(res, 'payload_too_large', { connection: 'close' });
      } else {
        refuse(res, 'malformed_json');
      }
      return;
    }
    const server = options.bridge();
    // No sessionIdGenerator: stateless, no Mcp-Session-Id. JSON replies, no SSE streams.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    res.once('close', () => {
      void transport.close().catch(() => undefined);
      void server.close().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 'internal_error');
      else res.destroy();
    });
  });
  installClientErrorHandling(http);
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => reject(listenFailed(options.host, options.port, err));
    http.once('error', failed);
    http.listen(options.port, options.host, () => {
      http.off('error', failed);
      resolve();
    });
  });
  const { address, port } = http.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  hostAllowed = hostCheck(options.host, host, port, options.allowedHosts ?? []);
  return {
    url: `http://${host}:${port}${MCP_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Which `Host` headers name this bridge (compared without case, as host names are). */
function hostCheck(
  listenHost: string,
  bound: string,
  port: number,
  extra: readonly string[],
): (host: string | undefined) => boolean {
  const allowed = new Set([`${bound}:${port}`, ...extra].map((h) => h.toLowerCase()));
  const loopback = bound.startsWith('127.') || bound === '[::1]' || listenHost === 'localhost';
  if (loopback) for (const name of LOOPBACK_NAMES) allowed.add(`${name}:${port}`);
  else if (extra.length === 0) return (host) => host !== undefined;
  return (host) => host !== undefined && allowed.has(host.toLowerCase());
}
