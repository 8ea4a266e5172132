/**
 * A recording proxy in front of moto, on 127.0.0.1: it forwards every request as it came
 * (so moto still checks its signature) and keeps each request's form body and headers, and
 * each reply — to show what Bastion sent where moto does not check it (duration, session
 * policy, source identity, tags), to learn the secrets STS issued (the zero-credential
 * proof), and, with `rewrite`, to hand Bastion a reply moto would not make.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  status: number;
  reply: string;
}

export interface AwsProxy {
  readonly url: string;
  readonly seen: Recorded[];
  /** Replaces the reply bodies that follow; undefined to stop. */
  rewrite: ((reply: string, request: Recorded) => string) | undefined;
  close(): Promise<void>;
}

export async function startAwsProxy(upstream: string): Promise<AwsProxy> {
  const up = new URL(upstream);
  const proxy: AwsProxy = {
    url: '',
    seen: [],
    rewrite: undefined,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: body.toString(),
        status: 0,
        reply: '',
      };
      proxy.seen.push(recorded);
      const forward = request(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (r) => {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () => {
            recorded.status = r.statusCode ?? 0;
            recorded.reply = Buffer.concat(parts).toString();
            const text = proxy.rewrite?.(recorded.reply, recorded) ?? recorded.reply;
            const headers = { ...r.headers, 'content-length': String(Buffer.byteLength(text)) };
            delete headers['transfer-encoding'];
            res.writeHead(r.statusCode ?? 502, headers);
            res.end(text);
          });
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** The form fields of an STS Query API request body. */
export function formOf(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

/** The text of the first `<name>…</name>` in an XML reply. */
export function xmlText(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
