/**
 * The HTTP transport against real node:http servers on 127.0.0.1 (and one HTTPS server
 * with a throwaway openssl certificate): where the token may go (origin, base path,
 * redirects; refused addresses and DNS pinning are in http-destination.test.ts), what the
 * caller may send (paths, headers, body size) and what comes back (bounded body, safe
 * headers, never the token).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Secret } from '../../src/credentials/secret.js';
import { BastionError } from '../../src/base/errors.js';
import { checkRequestHeaders } from '../../src/transports/http/request-headers.js';
import { normaliseRequestPath } from '../../src/governance/request-path.js';
import { httpRequest, type HttpRequestOptions } from '../../src/transports/http/request.js';
import { fakeDns, loopbackOnlyConnect } from '../helpers/offhost.js';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.tok-7f3c9a.sig-51e0d2';
const LIMITS = { maxOutputBytes: 64 * 1024, timeoutMs: 5_000 };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  server: Server;
  port: number;
  origin: string;
  seen: Seen[];
}

type Handler = (req: IncomingMessage, res: ServerResponse, server: TestServer) => void;

const servers: Server[] = [];

async function listen(server: Server, handler: Handler): Promise<TestServer> {
  const t = { server, port: 0, origin: '', seen: [] as Seen[] };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      t.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      handler(req, res, t);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  t.port = (server.address() as AddressInfo).port;
  t.origin = `http://127.0.0.1:${t.port}`;
  return t;
}

function start(handler: Handler): Promise<TestServer> {
  return listen(createServer(), handler);
}

after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const noLookup: LookupFunction = () => {
  throw new Error('lookup must not be called');
};

function request(options: Partial<HttpRequestOptions> & { base: string }) {
  return httpRequest({ method: 'GET', path: '/', limits: LIMITS, ...options });
}

function code(expected: string) {
  return (err: unknown) => err instanceof BastionError && err.code === expected;
}

describe('HTTP transport: the request', () => {
  let api: TestServer;
  before(async () => {
    api = await start((req, res) => json(res, 200, { url: req.url, method: req.method }));
  });

  it('sends base path + path + query with the bearer, and returns a JSON body as text', async () => {
    const bearer = Secret.fromString(TOKEN);
    const r = await request({
      base: `${api.origin}/v1`,
      path: '/items/%7e42',
      query: { q: 'a b&c', n: '1' },
      headers: { accept: 'application/json', Cookie: 'session=abc' },
      bearer,
      lookup: noLookup,
    });
    assert.equal(r.status, 200);
    assert.equal(r.body_encoding, 'utf8');
    assert.deepEqual(JSON.parse(r.body), { url: '/v1/items/~42?q=a+b%26c&n=1', method: 'GET' });
    assert.equal(r.body_truncated, false);
    assert.equal(r.timed_out, false);
    assert.equal(r.redirects, 0);
    const seen = api.seen.at(-1);
    assert.equal(seen?.headers.authorization, `Bearer ${TOKEN}`, 'the token reached the server');
    assert.equal(seen?.headers.cookie, 'session=abc', 'cookies are the caller’s business');
    assert.equal(seen?.headers.host, `127.0.0.1:${api.port}`);

    // The check below is able to find a token; then it finds none in the result.
    const planted = JSON.stringify({ ...r, body: `x${TOKEN}x` });
    assert.ok(planted.includes(TOKEN), 'the leak check finds a planted copy');
    assert.ok(!JSON.stringify(r).includes(TOKEN), 'the result never holds the token');
    assert.ok(!JSON.stringify(r).includes('tok-7f3c9a'));
    assert.equal(bearer.disposed, false, 'the transport does not own the secret');
  });

  it('sends a body with its length, and refuses one over the limit before connecting', async () => {
    const r = await request({
      base: api.origin,
      method: 'POST',
      path: '/things',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
      lookup: noLookup,
    });
    assert.equal(r.status, 200);
    const seen = api.seen.at(-1);
    assert.equal(seen?.body, '{"a":"é"}');
    assert.equal(seen?.headers['content-length'], String(Buffer.byteLength('{"a":"é"}')));

    const before = api.seen.length;
    await assert.rejects(
      request({
        base: api.origin,
        method: 'POST',
        path: '/things',
        body: 'x'.repeat(11),
        maxRequestBytes: 10,
      }),
      (e: unknown) => code('http_body_too_large')(e) && (e as BastionError).status === 413,
    );
    await assert.rejects(
      request({ base: api.origin, method: 'PUT', body: 'x'.repeat(1024 * 1024 + 1) }),
      code('http_body_too_large'),
      'default limit 1 MiB',
    );
    assert.equal(api.seen.length, before, 'nothing was sent');
  });

  it('refuses paths that could leave the base, before anything is sent', async () => {
    const before = api.seen.length;
    const bad = [
      'items',
      '',
      '/../admin',
      '/v1/../../admin',
      '/a/./b',
      '/a/..',
      '/%2e%2e/admin',
      '/%2E%2e/admin',
      '/.%2e/admin',
      '/%252e%252e/admin',
      '/a%2F..%2Fadmin',
      '/a%2f%2e%2e%2fadmin',
      '/..;/admin',
      '/%2e%2e;jsessionid=1/admin',
      '/%C0%AE%C0%AE/admin',
      '/a\\b',
      '/a%5Cb',
      '/a%5c..%5cb',
      '/a\nb',
      '/a%0D%0AHost:%20evil',
      '/a%00b',
      '/a b',
      '/a?b=c',
      '/a#b',
      '//evil.test/x',
      '/a//b',
      '/é',
      '/%zz',
      `/${'a'.repeat(2048)}`,
    ];
    for (const path of bad) {
      await assert.rejects(
        request({ base: `${api.origin}/v1`, path, lookup: noLookup }),
        (e: unknown) => code('http_path_invalid')(e) && (e as BastionError).status === 400,
        JSON.stringify(path),
      );
    }
    assert.equal(api.seen.length, before, 'the server saw none of them');
    assert.equal(normaliseRequestPath('/%7euser/a%2fb/%41'), '/~user/a%2Fb/A');
    assert.equal(normaliseRequestPath('/'), '/');
    assert.equal(normaliseRequestPath('/dir/'), '/dir/');
    assert.equal(normaliseRequestPath('/a/.well-known/..x'), '/a/.well-known/..x');
  });

  it('never echoes the refused input in the error', async () => {
    const err = await request({ base: api.origin, path: '/../secret-marker' }).catch(
      (e: unknown) => e as Error,
    );
    assert.ok(err instanceof BastionError);
    assert.ok(!err.message.includes('secret-marker'));
    assert.ok(!JSON.stringify(err).includes('secret-marker'));
  });

  it('refuses a base that is not a canonical http(s) URL', async () => {
    for (const base of [
      'api.internal.test',
      'ftp://x.test',
      'http://127.0.0.1:80',
      'HTTP://A.test',
    ]) {
      await assert.rejects(request({ base }), code('invalid_argument'), base);
    }
  });
});

describe('HTTP transport: request headers', () => {
  let api: TestServer;
  before(async () => {
    api = await start((_req, res) => json(res, 200, {}));
  });

  it('refuses CR, LF and NUL in names and values', async () => {
    for (const headers of [
      { 'x-a': 'v\r\nX-Injected: 1' },
      { 'x-a': 'v\nX-Injected: 1' },
      { 'x-a': 'v\rx' },
      { 'x-a': 'v\0' },
      { 'x-a\r\nx-b': 'v' },
      { 'x a': 'v' },
      { '': 'v' },
      { 'x-a': 'v\u0001' },
      { 'x-a': '☃' },
    ]) {
      await assert.rejects(
        request({ base: api.origin, headers }),
        (e: unknown) => code('http_header_invalid')(e) && (e as BastionError).status === 400,
        JSON.stringify(headers),
      );
    }
    assert.equal(api.seen.length, 0);
  });

  it('refuses Authorization from the caller, and hop-by-hop and framing headers', async () => {
    for (const name of [
      'Authorization',
      'authorization',
      'Connection',
      'Keep-Alive',
      'Proxy-Authorization',
      'proxy-connection',
      'TE',
      'Trailer',
      'Transfer-Encoding',
      'Upgrade',
      'Host',
      'Content-Length',
      'Expect',
    ]) {
      await assert.rejects(
        request({ base: api.origin, headers: { [name]: 'x' } }),
        (e: unknown) => code('http_header_forbidden')(e) && (e as BastionError).status === 400,
        name,
      );
    }
    assert.equal(api.seen.length, 0);
  });

  it('limits the number and size of headers, and refuses duplicates', () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`x-h${i}`, 'v']));
    assert.throws(() => checkRequestHeaders(many), code('http_header_invalid'));
    assert.doesNotThrow(() =>
      checkRequestHeaders(Object.fromEntries(Object.entries(many).slice(0, 32))),
    );
    assert.throws(
      () => checkRequestHeaders({ 'x-a': 'v'.repeat(9000) }),
      code('http_header_invalid'),
    );
    assert.throws(
      () => checkRequestHeaders({ Accept: 'a', accept: 'b' }),
      code('http_header_invalid'),
    );
    assert.deepEqual(checkRequestHeaders({ 'X-Trace': 'abc', Cookie: 'a=b' }), {
      'x-trace': 'abc',
      cookie: 'a=b',
    });
  });

  it('refuses a bearer that would inject a header', async () => {
    await assert.rejects(
      request({ base: api.origin, bearer: Secret.fromString('abc\r\nX-Evil: 1') }),
      code('http_header_invalid'),
    );
    assert.equal(api.seen.length, 0);
  });
});

describe('HTTP transport: redirects', () => {
  let api: TestServer;
  let other: TestServer;
  before(async () => {
    other = await start((_req, res) => json(res, 200, { other: true }));
    api = await start((req, res, self) => {
      const url = req.url ?? '';
      const to = (location: string, status = 302) => {
        res.writeHead(status, { location, 'content-type': 'text/plain' });
        res.end('moved');
      };
      if (url === '/v1/old') return to('/v1/new');
      if (url === '/v1/relative') return to('new?x=1');
      if (url === '/v1/absolute') return to(`${self.origin}/v1/new`);
      if (url === '/v1/elsewhere') return to(`${other.origin}/v1/new`);
      if (url === '/v1/by-name') return to(`http://localhost:${self.port}/v1/new`);
      if (url === '/v1/https') return to(`https://127.0.0.1:${self.port}/v1/new`);
      if (url === '/v1/outside') return to('/admin');
      if (url === '/v1/dotdot') return to('/v1/../admin');
      if (url === '/v1/encoded') return to('/v1/%2e%2e/admin');
      if (url === '/v1/slash') return to('/v1/a%2F..%2F..%2Fadmin');
      if (url === '/v1/prefix') return to('/v1x/new');
      if (url === '/v1/userinfo') return to(`http://user:pw@127.0.0.1:${self.port}/v1/new`);
      if (url === '/v1/loop') return to('/v1/loop');
      if (url === '/v1/see-other') return to('/v1/result', 303);
      if (url === '/v1/temporary') return to('/v1/new', 307);
      if (url === '/v1/created') {
        res.writeHead(201, { location: `${other.origin}/x`, 'content-type': 'text/plain' });
        return res.end('ok');
      }
      return json(res, 200, { at: url });
    });
  });

  const base = () => `${api.origin}/v1`;

  it('follows a same-origin redirect under the base, with the bearer', async () => {
    for (const path of ['/old', '/relative', '/absolute']) {
      const before = api.seen.length;
      const r = await request({ base: base(), path, bearer: Secret.fromString(TOKEN) });
      assert.equal(r.status, 200, path);
      assert.equal(r.redirects, 1);
      assert.match(JSON.parse(r.body).at as string, /^\/v1\/new/);
      const hops = api.seen.slice(before);
      assert.equal(hops.length, 2);
      assert.ok(hops.every((h) => h.headers.authorization === `Bearer ${TOKEN}`));
    }
  });

  it('refuses a redirect to another origin, and does not follow it', async () => {
    for (const path of ['/elsewhere', '/by-name', '/https', '/userinfo']) {
      await assert.rejects(
        request({ base: base(), path, bearer: Secret.fromString(TOKEN) }),
        (e: unknown) => code('http_redirect_refused')(e) && (e as BastionError).status === 502,
        path,
      );
    }
    assert.equal(other.seen.length, 0, 'the other origin saw no request');
  });

  it('refuses a redirect outside the base path', async () => {
    const before = api.seen.length;
    for (const path of ['/outside', '/dotdot', '/encoded', '/slash', '/prefix']) {
      await assert.rejects(request({ base: base(), path }), code('http_redirect_refused'), path);
    }
    assert.equal(api.seen.length - before, 5, 'only the redirecting requests were made');
    assert.ok(!api.seen.some((s) => s.url.includes('admin') || s.url.startsWith('/v1x')));
  });

  it('follows at most allowedRedirects', async () => {
    const before = api.seen.length;
    await assert.rejects(request({ base: base(), path: '/loop' }), code('http_redirect_refused'));
    assert.equal(api.seen.length - before, 4, 'the first request and three redirects');
    await assert.rejects(
      request({ base: base(), path: '/old', allowedRedirects: 0 }),
      code('http_redirect_refused'),
    );
  });

  it('turns 303 into GET without the body, and follows nothing else after a POST', async () => {
    const before = api.seen.length;
    const r = await request({
      base: base(),
      method: 'POST',
      path: '/see-other',
      headers: { 'content-type': 'text/plain' },
      body: 'payload',
    });
    assert.equal(r.status, 200);
    const [first, second] = api.seen.slice(before);
    assert.equal(first?.method, 'POST');
    assert.equal(first?.body, 'payload');
    assert.equal(second?.method, 'GET');
    assert.equal(second?.url, '/v1/result');
    assert.equal(second?.body, '');
    assert.equal(second?.headers['content-length'], undefined);
    assert.equal(second?.headers['content-type'], undefined);

    for (const path of ['/temporary', '/old']) {
      await assert.rejects(
        request({ base: base(), method: 'POST', path, body: 'x' }),
        code('http_redirect_refused'),
      );
    }
  });

  it('asks allowPath about each redirect', async () => {
    const asked: string[] = [];
    await assert.rejects(
      request({
        base: base(),
        path: '/old',
        allowPath: (method, path) => {
          asked.push(`${method} ${path}`);
          return false;
        },
      }),
      code('http_redirect_refused'),
    );
    assert.deepEqual(asked, ['GET /new']);
  });

  it('returns a Location header only when it stays on the origin', async () => {
    const r = await request({ base: base(), path: '/created' });
    assert.equal(r.status, 201);
    assert.equal(r.headers.location, undefined);
  });
});

describe('HTTP transport: DNS', () => {
  let api: TestServer;
  before(async () => {
    api = await start((req, res) => json(res, 200, { at: req.url }));
  });

  it('allows loopback and private answers, and maps DNS failure to http_dns_failed', async () => {
    const lookup = fakeDns({ 'api.internal.test': '127.0.0.1', 'empty.internal.test': [] });
    const r = await request({ base: `http://api.internal.test:${api.port}/v1`, lookup });
    assert.equal(r.status, 200);
    assert.equal(api.seen.at(-1)?.headers.host, `api.internal.test:${api.port}`);
    for (const host of ['nowhere.internal.test', 'empty.internal.test']) {
      await assert.rejects(
        request({ base: `http://${host}:${api.port}`, lookup }),
        (e: unknown) => code('http_dns_failed')(e) && (e as BastionError).status === 502,
      );
    }
  });

  it('does not resolve an IP-literal target', async () => {
    const r = await request({ base: api.origin, lookup: noLookup });
    assert.equal(r.status, 200);
  });

  it('maps a refused connection to http_connect_failed', async () => {
    const closed = await start(() => undefined);
    const port = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    await assert.rejects(
      request({ base: `http://127.0.0.1:${port}` }),
      (e: unknown) => code('http_connect_failed')(e) && (e as BastionError).status === 502,
    );
  });
});

describe('HTTP transport: the response', () => {
  let api: TestServer;
  before(async () => {
    api = await start((req, res) => {
      switch (req.url) {
        case '/big':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('a'.repeat(100_000));
        case '/endless': {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const chunk = Buffer.alloc(16 * 1024, 7);
          const pump = (): void => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once('drain', pump);
          };
          return pump();
        }
        case '/utf8-cut':
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          return res.end('ééééé');
        case '/silent':
          return; // never answers
        case '/stall':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return void res.write('partial');
        case '/binary':
          res.writeHead(200, { 'content-type': 'image/png' });
          return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]));
        case '/bad-utf8':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end(Buffer.from([0x61, 0xff, 0x62]));
        case '/latin1':
          res.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' });
          return res.end(Buffer.from([0x61, 0xe9]));
        case '/headers':
          res.setHeader('content-type', 'application/problem+json');
          res.setHeader('set-cookie', [`session=${TOKEN}`, 'b=2']);
          res.setHeader('www-authenticate', `Bearer error="invalid_token", token="${TOKEN}"`);
          res.setHeader('etag', '"v1"');
          res.setHeader('x-request-id', 'req-1');
          res.setHeader('retry-after', '5');
          res.setHeader('x-internal-secret', 'nope');
          res.setHeader('location', '/v1/next');
          res.setHeader('content-length', '25');
          res.writeHead(401);
          return res.end('{"error":"invalid_token"}');
        default:
          return json(res, 404, {});
      }
    });
  });

  it('cuts an oversized body at maxOutputBytes and flags it', async () => {
    const r = await request({
      base: api.origin,
      path: '/big',
      limits: { maxOutputBytes: 1000, timeoutMs: 5000 },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'a'.repeat(1000));
    assert.equal(r.body_truncated, true);
    assert.equal(r.timed_out, false);
  });

  it('stops reading an endless body (the socket is destroyed)', async () => {
    const r = await request({
      base: api.origin,
      path: '/endless',
      limits: { maxOutputBytes: 50_000, timeoutMs: 5000 },
    });
    assert.equal(r.body_truncated, true);
    assert.equal(r.body_encoding, 'base64');
    assert.equal(Buffer.from(r.body, 'base64').byteLength, 50_000);
    assert.equal(r.timed_out, false);
  });

  it('drops a character cut in half by the limit rather than switching to base64', async () => {
    const r = await request({
      base: api.origin,
      path: '/utf8-cut',
      limits: { maxOutputBytes: 5, timeoutMs: 5000 },
    });
    assert.equal(r.body_encoding, 'utf8');
    assert.equal(r.body, 'éé');
    assert.equal(r.body_truncated, true);
  });

  it('times out a silent server, and returns what a stalled one sent', async () => {
    const limits = { maxOutputBytes: 1000, timeoutMs: 300 };
    const silent = await request({ base: api.origin, path: '/silent', limits });
    assert.equal(silent.timed_out, true);
    assert.equal(silent.status, 0);
    assert.equal(silent.body, '');
    assert.ok(silent.duration_ms >= 250, String(silent.duration_ms));

    const stalled = await request({ base: api.origin, path: '/stall', limits });
    assert.equal(stalled.timed_out, true);
    assert.equal(stalled.status, 200);
    assert.equal(stalled.body, 'partial');
  });

  it('fails when the caller cancels', async () => {
    const controller = new AbortController();
    // Cancelled once the request has reached the (silent) server.
    api.server.once('request', () => controller.abort());
    await assert.rejects(
      request({ base: api.origin, path: '/silent', signal: controller.signal }),
      code('http_connect_failed'),
    );
  });

  it('returns text as utf8 only when it is textual and clean UTF-8', async () => {
    const binary = await request({ base: api.origin, path: '/binary' });
    assert.equal(binary.body_encoding, 'base64');
    assert.deepEqual([...Buffer.from(binary.body, 'base64')], [0x89, 0x50, 0x4e, 0x47, 0, 1, 2]);
    const bad = await request({ base: api.origin, path: '/bad-utf8' });
    assert.equal(bad.body_encoding, 'base64');
    const latin1 = await request({ base: api.origin, path: '/latin1' });
    assert.equal(latin1.body_encoding, 'base64');
    const head = await request({ base: api.origin, path: '/big', method: 'HEAD' });
    assert.equal(head.body, '');
    assert.equal(head.body_encoding, 'utf8');
  });

  it('returns only safe response headers: never set-cookie or www-authenticate', async () => {
    const r = await request({
      base: `${api.origin}`,
      path: '/headers',
      bearer: Secret.fromString(TOKEN),
    });
    assert.equal(r.status, 401);
    assert.deepEqual(Object.keys(r.headers).sort(), [
      'content-length',
      'content-type',
      'etag',
      'location',
      'retry-after',
      'x-request-id',
    ]);
    assert.equal(r.headers['x-request-id'], 'req-1');
    assert.equal(r.headers.location, '/v1/next');
    assert.ok(!JSON.stringify(r).includes(TOKEN), 'the token the server echoed is not returned');
  });
});

describe('HTTP transport: HTTPS', () => {
  // openssl is a test prerequisite (scripts/test-all.sh installs it): a setup failure fails.
  const dir = mkdtempSync(join(tmpdir(), 'bastion-http-tls-'));
  let cert = '';
  let tlsApi: TestServer;
  before(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=api.internal.test',
        '-addext',
        'subjectAltName=DNS:api.internal.test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert });
    tlsApi = await listen(server, (req, res) => json(res, 200, { at: req.url }));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the certificate against the name, connecting to the pinned address', async () => {
    const lookup = fakeDns({
      'api.internal.test': '127.0.0.1',
      'other.internal.test': '127.0.0.1',
    });
    const connect = loopbackOnlyConnect();
    const base = `https://api.internal.test:${tlsApi.port}/v1`;
    const r = await request({
      base,
      path: '/x',
      ca: cert,
      lookup,
      connect,
      bearer: Secret.fromString(TOKEN),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(connect.attempts, ['127.0.0.1'], 'TLS runs over the socket connect opened');
    assert.equal(JSON.parse(r.body).at, '/v1/x');
    assert.equal(tlsApi.seen.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);

    const count = tlsApi.seen.length;
    await assert.rejects(request({ base, lookup }), code('http_connect_failed'), 'untrusted CA');
    await assert.rejects(
      request({ base: `https://other.internal.test:${tlsApi.port}`, ca: cert, lookup }),
      code('http_connect_failed'),
      'certificate for another name',
    );
    assert.equal(tlsApi.seen.length, count, 'no request was sent over an unverified connection');
  });
});
