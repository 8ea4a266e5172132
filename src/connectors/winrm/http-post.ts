/**
 * One HTTP POST of the WinRM transport over the invocation's own `node:http` Agent. WinRM's
 * Kerberos context belongs to a TCP connection, so the caller vets the socket the Agent
 * picks before a byte of the body is written (`onSocket` throws to refuse it). The reply
 * is bounded; the request follows the caller's signal. Failures are catalog errors and
 * never carry Node's or the peer's text.
 */
import { type Agent, type IncomingHttpHeaders, request } from 'node:http';
import type { Socket } from 'node:net';
import { BastionError, type ErrorCode } from '../../base/errors.js';

export interface WinRmEndpoint {
  /** Where to connect: an address or name. */
  readonly address: string;
  readonly port: number;
  /** The listener's path, `/wsman`. */
  readonly path: string;
  /** The `Host` header: the target's name and port, as the listener's URL says. */
  readonly host: string;
}

export interface PostReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every value of `WWW-Authenticate`, one per header line. */
  readonly challenges: readonly string[];
  readonly body: Buffer;
}

export interface PostOptions {
  readonly signal: AbortSignal;
  readonly maxReplyBytes: number;
  /** Called with the socket the Agent assigned (`reused`: a kept-alive one); throws to refuse it. */
  onSocket(socket: Socket, reused: boolean): void;
  /** The code of a failure on the wire (refused, reset, closed early). */
  readonly failure: ErrorCode;
}

/** POSTs `body` with `headers`; resolves with the whole reply, whatever its status. */
export function post(
  agent: Agent,
  endpoint: WinRmEndpoint,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  options: PostOptions,
): Promise<PostReply> {
  const { signal } = options;
  return new Promise<PostReply>((resolve, reject) => {
    if (signal.aborted) return reject(new BastionError(options.failure));
    let settled = false;
    const req = request({
      host: endpoint.address,
      port: endpoint.port,
      path: endpoint.path,
      method: 'POST',
      agent,
      headers: { ...headers, Host: endpoint.host, 'Content-Length': String(body.byteLength) },
    });
    const fail = (err: BastionError): void => {
      if (!settled) {
        settled = true;
        signal.removeEventListener('abort', onAbort);
        reject(err);
      }
      // A half-done exchange leaves the connection unusable: never hand it back to the Agent.
      req.destroy();
    };
    const onAbort = (): void => fail(new BastionError(options.failure));
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('socket', (socket: Socket) => {
      try {
        options.onSocket(socket, req.reusedSocket);
      } catch (err) {
        return fail(err instanceof BastionError ? err : new BastionError(options.failure));
      }
      req.end(body);
    });
    req.on('error', () => fail(new BastionError(options.failure)));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > options.maxReplyBytes) fail(new BastionError('winrm_reply_too_large'));
        else chunks.push(chunk);
      });
      res.on('error', () => fail(new BastionError(options.failure)));
      res.once('end', () => {
        if (settled) return;
        if (!res.complete) return fail(new BastionError(options.failure));
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          challenges: res.headersDistinct['www-authenticate'] ?? [],
          body: Buffer.concat(chunks),
        });
      });
    });
  });
}
