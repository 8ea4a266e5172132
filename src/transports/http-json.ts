/**
 * A bounded JSON POST over node:http to an `http://` URL or a `unix:/path` socket, for the
 * Bascule connector. No redirects, a wall-time limit and a reply-size limit.
 */
import { request } from 'node:http';

export interface JsonReply {
  status: number;
  body: unknown;
}

export function postJson(
  endpoint: string,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  options: { timeoutMs: number; maxReplyBytes: number; signal?: AbortSignal },
): Promise<JsonReply> {
  const payload = Buffer.from(JSON.stringify(body));
  const target = endpoint.startsWith('unix:')
    ? { socketPath: endpoint.slice('unix:'.length), host: 'localhost', path }
    : (() => {
        const url = new URL(
          path.replace(/^\//, ''),
          endpoint.endsWith('/') ? endpoint : endpoint + '/',
        );
        return {
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || 80,
          path: url.pathname,
        };
      })();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...target,
        method: 'POST',
        // No keep-alive: a pooled socket would keep this request (and the bearer grant in
        // its header string) reachable after the call.
        agent: false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(payload.byteLength),
        },
        timeout: options.timeoutMs,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > options.maxReplyBytes) {
            req.destroy(new Error('reply too large'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            });
          } catch (err) {
            reject(err instanceof Error ? err : new Error('bad reply'));
          }
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('timeout')), options.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}
