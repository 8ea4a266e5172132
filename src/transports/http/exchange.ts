/**
 * One HTTP exchange on the wire: a request over a socket opened to the pinned address (and
 * nowhere else), with the token header written as it goes out, and its response read up
 * to a size limit or until the deadline. Built on node:http/https rather than fetch so
 * that DNS and sockets are ours to control.
 */
import {
  request as plainRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as tlsRequest, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, rootCertificates, type SecureContext } from 'node:tls';
import { BastionError } from '../../base/errors.js';
import type { Secret } from '../../credentials/secret.js';
import type { Base } from './base-url.js';
import { mayConnect, type ConnectFunction, type Pinned } from './destination.js';
import { HttpTransportError } from './errors.js';
import { redirectLocation } from './redirects.js';
import { bearerHeader } from './request-headers.js';

export interface Hop {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly truncated: boolean;
  /** The deadline or the caller's signal cut the body short. */
  readonly interrupted: boolean;
}

export interface HopRequest {
  readonly base: Base;
  readonly pinned: Pinned;
  readonly connect: ConnectFunction;
  /** The target's own literal address, when an accord named it exactly; else undefined. */
  readonly allowedLiteral: string | undefined;
  readonly method: string;
  readonly requestPath: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
  readonly bearer: Secret | undefined;
  /** Headers a signer computed over this very request (sign.ts), sent as they are. */
  readonly signed?: Readonly<Record<string, string>> | undefined;
  readonly maxBytes: number;
  readonly signal: AbortSignal;
  readonly ca: string | undefined;
  /** Mutual TLS: the context with the client certificate (and the CAs to verify the target). */
  readonly secureContext?: SecureContext | undefined;
}

/**
 * The request's socket: TCP to the pinned address through `connect`, then TLS verified
 * against the target's name (or its address, for an IP-literal target).
 */
function openSocket(hop: HopRequest): Duplex {
  const { base, pinned } = hop;
  const tcp = hop.connect({ address: pinned.address, family: pinned.family, port: base.port });
  if (base.scheme === 'http') return tcp;
  const tls = tlsConnect({
    socket: tcp,
    host: base.hostname,
    rejectUnauthorized: true,
    ...(base.ipLiteral ? {} : { servername: base.hostname }),
    ...trustOptions(hop),
  });
  tls.once('close', () => tcp.destroy());
  return tls;
}

/** What verifies the target: the mutual-TLS context when there is one, else the roots (+ `ca`). */
function trustOptions(hop: HopRequest): { secureContext: SecureContext } | { ca?: string[] } {
  if (hop.secureContext !== undefined) return { secureContext: hop.secureContext };
  return hop.ca !== undefined ? { ca: [...rootCertificates, hop.ca] } : {};
}

function requestOptions(hop: HopRequest): RequestOptions {
  const { base } = hop;
  const headers: OutgoingHttpHeaders = { ...hop.headers, ...hop.signed };
  if (hop.body !== undefined) headers['content-length'] = String(hop.body.byteLength);
  return {
    // The name, not the pinned address: Host sees the name, while openSocket decides
    // where the socket goes.
    host: base.hostname,
    port: base.port,
    method: hop.method,
    path: hop.requestPath,
    headers,
    // No agent, so no keep-alive: a pooled socket would keep the request, and its header,
    // reachable. Every socket is the one openSocket made for this request.
    createConnection: () => openSocket(hop),
  };
}

/**
 * Sends one request and resolves with its response, the body cut at `maxBytes`. Rejects
 * with http_connect_failed when the exchange fails or is cancelled before a response.
 */
export function exchange(hop: HopRequest): Promise<Hop> {
  return new Promise<Hop>((resolve, reject) => {
    const { base, signal } = hop;
    if (signal.aborted) return reject(new HttpTransportError('connectFailed'));
    // Checked where the socket is opened too: whatever resolved it, a refused address is
    // never connected to, unless it is the target's own literal an accord named.
    if (!mayConnect(hop.pinned.address, hop.allowedLiteral)) {
      return reject(new HttpTransportError('destinationRefused'));
    }
    const options = requestOptions(hop);

    let settled = false;
    let req: ClientRequest | undefined;
    let response: IncomingMessage | undefined;
    const chunks: Buffer[] = [];
    let kept = 0;
    const cleanup = (): void => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (): void => {
      if (settled) return;
      cleanup();
      req?.destroy();
      reject(new HttpTransportError('connectFailed'));
    };
    const finish = (truncated: boolean, interrupted: boolean): void => {
      if (settled || response === undefined) return;
      cleanup();
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.concat(chunks, kept),
        truncated,
        interrupted,
      });
    };
    function onAbort(): void {
      // A response already under way is returned as far as it got; otherwise it failed.
      if (response !== undefined) {
        finish(false, true);
        req?.destroy();
      } else {
        fail();
      }
    }
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      req = (base.scheme === 'https' ? tlsRequest : plainRequest)(options);
    } catch {
      fail();
      return;
    }
    // Listening first: destroying the request below must not leave an unhandled error.
    req.on('error', fail);
    try {
      if (hop.bearer !== undefined) req.setHeader('authorization', bearerHeader(hop.bearer));
    } catch (err) {
      cleanup();
      req.destroy();
      reject(err instanceof BastionError ? err : new HttpTransportError('connectFailed'));
      return;
    }
    req.on('response', (res) => {
      response = res;
      if (redirectLocation(res.statusCode ?? 0, res.headers) !== undefined) {
        // A redirect's body is never needed: followed or refused, it is dropped.
        finish(false, false);
        req?.destroy();
        return;
      }
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = hop.maxBytes - kept;
        if (chunk.byteLength > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room));
          kept += Math.max(room, 0);
          // Stop reading: the rest is not wanted and may be endless.
          finish(true, false);
          req?.destroy();
          return;
        }
        chunks.push(chunk);
        kept += chunk.byteLength;
      });
      res.on('end', () => finish(false, false));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail();
      });
    });
    req.end(hop.body);
  });
}
