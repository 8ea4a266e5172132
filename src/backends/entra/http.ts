/**
 * One HTTP exchange for MSAL over node:http(s), instead of MSAL's own client: the call's
 * abort signal and time limit reach the socket, a private authority's CA can be trusted
 * without `NODE_EXTRA_CA_CERTS`, no redirect is followed, and a reply larger than
 * MAX_REPLY_BYTES is not read. Reply chunks are zero-filled once copied.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NetworkRequestOptions } from '@azure/msal-node';
import { checkEndpoint } from '../oauth/config.js';
import { MAX_REPLY_BYTES } from '../oauth/reply.js';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  /** Undefined when the reply exceeded the size limit. */
  body: Buffer | undefined;
}

/** One exchange: https, or http to a loopback address only. */
export function sendRequest(
  method: 'GET' | 'POST',
  url: string,
  options: NetworkRequestOptions | undefined,
  signal: AbortSignal,
  ca: string[] | undefined,
): Promise<RawReply> {
  return new Promise<RawReply>((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(checkEndpoint('entra endpoint', url));
    } catch (err) {
      reject(err instanceof Error ? err : new Error('bad url'));
      return;
    }
    const body = method === 'POST' ? Buffer.from(options?.body ?? '', 'utf8') : undefined;
    const headers: Record<string, string> = { ...(options?.headers ?? {}) };
    if (body !== undefined) headers['content-length'] = String(body.byteLength);
    const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      parsed,
      {
        method,
        headers,
        signal,
        ...(ca !== undefined && parsed.protocol === 'https:' ? { ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let total = 0;
        let tooLarge = false;
        res.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > MAX_REPLY_BYTES) {
            tooLarge = true;
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete && !tooLarge) {
            reject(new Error('reply interrupted'));
            return;
          }
          const all = tooLarge ? undefined : Buffer.concat(chunks, total);
          for (const chunk of chunks) chunk.fill(0);
          const replyHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') replyHeaders[name] = value;
            else if (Array.isArray(value)) replyHeaders[name] = value.join(', ');
          }
          resolve({ status: res.statusCode ?? 0, headers: replyHeaders, body: all });
        });
      },
    );
    req.on('error', reject);
    if (body === undefined) req.end();
    else req.end(body, () => body.fill(0));
  });
}
