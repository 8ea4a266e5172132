/**
 * The fetch FormClient uses by default, over node:http(s) with no keep-alive. Not the global
 * fetch: undici parses every reply inside a WebAssembly buffer it reuses, so the last token
 * reply's bytes stayed in the broker's memory after the call, out of reach of the zero-fill
 * (the zero-credential proof's memory scan found them). Here the reply body reaches the
 * caller as the very Buffers node read, which FormClient zero-fills as it reads them. Only what FormClient
 * needs: a method, headers, a body, a signal; a redirect is an error, as `redirect: 'error'`.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ReadableStream } from 'node:stream/web';

function urlOf(input: Parameters<typeof fetch>[0]): URL {
  if (typeof input === 'string') return new URL(input);
  if (input instanceof URL) return input;
  throw new TypeError('nodeFetch takes a URL, not a Request');
}

/**
 * The reply body as a web stream of the Buffers node read, not copies (Readable.toWeb
 * copies each chunk, leaving the original unwiped), read as the consumer pulls.
 */
function bodyOf(res: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      res.on('data', (chunk: Buffer) => {
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      res.once('end', () => controller.close());
      res.once('error', (err) => controller.error(err));
    },
    pull() {
      res.resume();
    },
    cancel() {
      res.destroy();
    },
  });
}

function headersOf(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
  }
  return headers;
}

export const nodeFetch: typeof fetch = (input, init) => {
  const url = urlOf(input);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = init?.body;
  if (body !== undefined && body !== null && !(body instanceof Uint8Array)) {
    return Promise.reject(new TypeError('nodeFetch takes a Uint8Array body'));
  }
  return new Promise<Response>((resolve, reject) => {
    const req = send(
      url,
      {
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string> | undefined,
        // A pooled socket would keep this request, and its Authorization header, reachable.
        agent: false,
        ...(init?.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.destroy();
          reject(new TypeError('redirect refused'));
          return;
        }
        resolve(new Response(bodyOf(res), { status, headers: headersOf(res) }));
      },
    );
    req.once('error', reject);
    req.end(body ?? undefined);
  });
};
