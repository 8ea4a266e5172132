/**
 * One HTTP exchange with an issuer over node:http(s), shared by the backends that talk to
 * one (Entra's MSAL network module, Vault): not the global fetch, whose parser keeps reply
 * bytes in a buffer it reuses, out of reach of the zero-fill (see
 * oauth-exchange/node-fetch.ts). The call's abort signal reaches the socket, a private CA
 * can be trusted without `NODE_EXTRA_CA_CERTS`, no redirect is followed (node:http follows
 * none), no socket is pooled, and a reply larger than `maxBytes` is not read. The request
 * body is zero-filled once written and reply chunks once copied.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  /** Undefined when the reply exceeded the size limit. */
  body: Buffer | undefined;
}

export interface RawRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** Zero-filled once written. */
  readonly body?: Buffer | undefined;
  readonly signal: AbortSignal;
  /** The CAs trusted for https, when not Node's default list. */
  readonly ca?: string[] | undefined;
  readonly maxBytes: number;
}

function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.join(', ');
  }
  return out;
}

/** Sends one request; rejects on a network failure, an abort or an interrupted reply. */
export function exchange(req: RawRequest): Promise<RawReply> {
  const { url, body } = req;
  const headers = { ...req.headers };
  if (body !== undefined) headers['content-length'] = String(body.byteLength);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<RawReply>((resolve, reject) => {
    const request = send(
      url,
      {
        method: req.method,
        headers,
        signal: req.signal,
        // A pooled socket would keep this request, and its credential header, reachable.
        agent: false,
        ...(req.ca !== undefined && url.protocol === 'https:' ? { ca: req.ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let total = 0;
        let tooLarge = false;
        res.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > req.maxBytes) {
            tooLarge = true;
            chunk.fill(0);
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete && !tooLarge) {
            for (const chunk of chunks) chunk.fill(0);
            reject(new Error('reply interrupted'));
            return;
          }
          const all = tooLarge ? undefined : Buffer.concat(chunks, total);
          for (const chunk of chunks) chunk.fill(0);
          resolve({ status: res.statusCode ?? 0, headers: headersOf(res), body: all });
        });
      },
    );
    request.on('error', (err) => {
      body?.fill(0);
      reject(err);
    });
    if (body === undefined) request.end();
    else request.end(body, () => body.fill(0));
  });
}
