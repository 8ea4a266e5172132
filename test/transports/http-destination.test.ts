/**
 * Where the HTTP transport may connect: link-local, metadata and unspecified addresses (in
 * every spelling) and the metadata names are refused as targets, as DNS answers (one bad
 * answer among good ones is enough), as redirect destinations and at connect time; a
 * target that is itself such a literal is reached only when the caller passes that very
 * literal as allowed. Every test injects the lookup and the connect function, and the
 * connect function refuses anything off loopback, so that a regression fails the test
 * instead of sending a token to a real metadata service. Each test first shows its double
 * in use on a loopback request (its control) before any hostile one runs.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BastionError } from '../../src/base/errors.js';
import { Secret } from '../../src/credentials/secret.js';
import { parseBase } from '../../src/transports/http/base-url.js';
import { exchange } from '../../src/transports/http/exchange.js';
import { httpRequest, type HttpRequestOptions } from '../../src/transports/http/request.js';
import { fakeDns, loopbackOnlyConnect } from '../helpers/offhost.js';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.ssrf-tok-4e1b.sig-9a07c3';
const LIMITS = { maxOutputBytes: 64 * 1024, timeoutMs: 5_000 };

/** Every refused address, in the spellings a resolver or a target may use. */
const REFUSED_ADDRESSES = [
  '169.254.169.254', // AWS, GCP, Azure, OCI metadata
  '169.254.170.2', // AWS ECS task metadata (link-local)
  '169.254.170.23', // EKS Pod Identity Agent
  '169.254.0.1',
  '100.100.100.200', // Alibaba
  '168.63.129.16', // Azure WireServer
  '192.0.0.192', // Oracle Cloud at Customer
  '0.0.0.0',
  '0.1.2.3',
  '::',
  'fe80::1',
  'febf:ffff::1',
  'fd00:ec2::254', // AWS IPv6
  'fd00:ec2::23', // EKS Pod Identity Agent IPv6
  'fd20:ce::254', // GCP IPv6
  'fd00:42::42', // Scaleway IPv6
  '::ffff:169.254.169.254', // IPv4-mapped
  '::ffff:a9fe:a9fe',
  '::ffff:100.100.100.200',
  '::ffff:0.0.0.0',
  '64:ff9b::a9fe:a9fe', // NAT64 (RFC 6052 well-known prefix)
  '64:ff9b::169.254.170.2',
  '64:ff9b::6464:64c8', // NAT64 of 100.100.100.200
  '64:ff9b::a83f:8110', // NAT64 of 168.63.129.16
];

/** The same addresses as canonical URL hosts. */
function urlHost(address: string): string {
  return address.includes(':')
    ? `[${new URL(`http://[${address}]`).hostname.slice(1, -1)}]`
    : address;
}

interface Api {
  server: Server;
  port: number;
  seen: { url: string; headers: IncomingHttpHeaders }[];
}

let api: Api;

before(async () => {
  const seen: Api['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const to = (location: string): void => {
      res.writeHead(302, { location });
      res.end();
    };
    const port = (server.address() as AddressInfo).port;
    switch (req.url) {
      case '/v1/to-metadata':
        return to('http://169.254.169.254/latest/meta-data/iam/security-credentials/');
      case '/v1/to-metadata-port':
        return to(`http://169.254.169.254:${port}/v1/x`);
      case '/v1/to-mapped':
        return to(`http://[::ffff:a9fe:a9fe]:${port}/v1/x`);
      case '/v1/to-nat64':
        return to(`http://[64:ff9b::a9fe:a9fe]:${port}/v1/x`);
      case '/v1/to-aws-v6':
        return to(`http://[fd00:ec2::254]:${port}/v1/x`);
      case '/v1/to-name':
        return to(`http://metadata.google.internal:${port}/v1/x`);
      case '/v1/hop':
        return to('/v1/landed');
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ at: req.url }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = { server, port: (server.address() as AddressInfo).port, seen };
});

after(() => {
  api.server.closeAllConnections();
  api.server.close();
});

const noLookup: LookupFunction & { calls: string[] } = Object.assign(
  ((hostname) => {
    noLookup.calls.push(hostname);
    throw new Error('lookup must not be called');
  }) as LookupFunction,
  { calls: [] as string[] },
);

function request(options: Partial<HttpRequestOptions> & { base: string }) {
  return httpRequest({
    method: 'GET',
    path: '/',
    limits: LIMITS,
    bearer: Secret.fromString(TOKEN),
    ...options,
  });
}

function code(expected: string, status?: number) {
  return (err: unknown) =>
    err instanceof BastionError &&
    err.code === expected &&
    (status === undefined || err.status === status);
}

/** The control: a loopback request through the same doubles reaches the API. */
async function control(
  lookup: LookupFunction,
  connect: ReturnType<typeof loopbackOnlyConnect>,
): Promise<void> {
  const before = connect.attempts.length;
  const r = await request({ base: `http://api.internal.test:${api.port}/v1`, lookup, connect });
  assert.equal(r.status, 200, 'control: the doubles carry a loopback request');
  assert.deepEqual(connect.attempts.slice(before), ['127.0.0.1'], 'control: connect was used');
  assert.equal(api.seen.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
}

describe('HTTP transport: refused DNS answers', () => {
  it('refuses a name answering any refused address, before connecting', async () => {
    const answers: Record<string, string> = { 'api.internal.test': '127.0.0.1' };
    REFUSED_ADDRESSES.forEach((address, i) => (answers[`m${i}.internal.test`] = address));
    const lookup = fakeDns(answers);
    const connect = loopbackOnlyConnect();
    await control(lookup, connect);
    const seen = api.seen.length;
    for (const [i, address] of REFUSED_ADDRESSES.entries()) {
      const host = `m${i}.internal.test`;
      // Even a caller that allows the name, or the address, does not excuse a DNS answer.
      for (const allow of [undefined, host, address]) {
        await assert.rejects(
          request({
            base: `http://${host}:${api.port}`,
            lookup,
            connect,
            dangerouslyAllowRefusedHost: allow,
          }),
          code('http_destination_refused', 403),
          `${address} (allowed: ${String(allow)})`,
        );
      }
    }
    assert.deepEqual(connect.attempts, ['127.0.0.1'], 'only the control connected');
    assert.equal(api.seen.length, seen);
  });

  it('refuses a name when one answer among several is refused, whichever comes first', async () => {
    const lookup = fakeDns({
      'api.internal.test': '127.0.0.1',
      'good-first.internal.test': ['127.0.0.1', '169.254.169.254'],
      'bad-first.internal.test': ['169.254.169.254', '127.0.0.1'],
      'v6.internal.test': ['::1', 'fd00:ec2::254'],
      'mapped.internal.test': ['127.0.0.1', '10.0.0.1', '::ffff:a9fe:a9fe'],
    });
    const connect = loopbackOnlyConnect();
    await control(lookup, connect);
    for (const name of ['good-first', 'bad-first', 'v6', 'mapped']) {
      await assert.rejects(
        request({ base: `http://${name}.internal.test:${api.port}`, lookup, connect }),
        code('http_destination_refused'),
        name,
      );
    }
    assert.deepEqual(connect.attempts, ['127.0.0.1']);
  });

  it('resolves once and pins the answer: a rebinding second answer is never asked for', async () => {
    let calls = 0;
    const rebinding: LookupFunction = (_hostname, options, callback) => {
      calls += 1;
      const address = calls === 1 ? '127.0.0.1' : '169.254.169.254';
      if (options.all === true) callback(null, [{ address, family: 4 }]);
      else callback(null, address, 4);
    };
    const connect = loopbackOnlyConnect();
    const before = api.seen.length;
    const r = await request({
      base: `http://rebind.internal.test:${api.port}/v1`,
      path: '/hop',
      lookup: rebinding,
      connect,
    });
    assert.equal(calls, 1, 'one lookup for the whole exchange, redirect included');
    assert.equal(r.status, 200);
    assert.equal(r.redirects, 1);
    assert.deepEqual(connect.attempts, ['127.0.0.1', '127.0.0.1'], 'both hops, one address');
    const hops = api.seen.slice(before);
    assert.deepEqual(
      hops.map((h) => h.url),
      ['/v1/hop', '/v1/landed'],
    );
    assert.ok(hops.every((h) => h.headers.host === `rebind.internal.test:${api.port}`));
  });
});

describe('HTTP transport: refused targets', () => {
  it('refuses a target that is a refused literal, unless that literal is allowed', async () => {
    const lookup = fakeDns({ 'api.internal.test': '127.0.0.1' });
    const connect = loopbackOnlyConnect();
    await control(lookup, connect);
    for (const address of REFUSED_ADDRESSES) {
      const host = urlHost(address);
      const bare = host.replace(/^\[|\]$/g, '');
      const base = `http://${host}:${api.port}`;
      // Not allowed, or another literal allowed: refused before any socket exists.
      for (const allow of [undefined, '169.254.169.253', `${bare}.internal.test`]) {
        await assert.rejects(
          request({ base, lookup: noLookup, connect, dangerouslyAllowRefusedHost: allow }),
          code('http_destination_refused', 403),
          `${base} (allowed: ${String(allow)})`,
        );
      }
      assert.deepEqual(connect.attempts, ['127.0.0.1'], `${base}: nothing was connected`);
      // That very literal allowed: the transport connects to it, and only to it (the test's
      // connect refuses, so the request fails on the wire, not on policy).
      await assert.rejects(
        request({ base, lookup: noLookup, connect, dangerouslyAllowRefusedHost: bare }),
        code('http_connect_failed'),
        base,
      );
      assert.deepEqual(connect.attempts.splice(1), [bare], `${base}: connected to the literal`);
    }
    assert.deepEqual(noLookup.calls, [], 'a literal target is never resolved');
  });

  it('refuses the metadata names before resolving them, unless the name is allowed', async () => {
    const lookup = fakeDns({
      'api.internal.test': '127.0.0.1',
      // Answers that would pass: only the name rule refuses these.
      'metadata.google.internal': '127.0.0.1',
      metadata: '127.0.0.1',
    });
    const connect = loopbackOnlyConnect();
    await control(lookup, connect);
    for (const name of ['metadata.google.internal', 'metadata']) {
      await assert.rejects(
        request({ base: `http://${name}:${api.port}`, lookup, connect }),
        code('http_destination_refused'),
        name,
      );
      assert.ok(!lookup.calls.includes(name), `${name} was not resolved`);
      const r = await request({
        base: `http://${name}:${api.port}/v1`,
        lookup,
        connect,
        dangerouslyAllowRefusedHost: name,
      });
      assert.equal(r.status, 200, `${name}, allowed, is resolved and its answer checked`);
    }
    const metadataAnswer = fakeDns({ metadata: '169.254.169.254' });
    await assert.rejects(
      request({
        base: `http://metadata:${api.port}`,
        lookup: metadataAnswer,
        connect,
        dangerouslyAllowRefusedHost: 'metadata',
      }),
      code('http_destination_refused'),
      'an allowed name still may not answer a refused address',
    );
    assert.ok(connect.attempts.every((a) => a === '127.0.0.1'));
  });
});

describe('HTTP transport: redirects and the socket', () => {
  it('never follows a redirect to a refused address or name', async () => {
    const lookup = fakeDns({ 'api.internal.test': '127.0.0.1' });
    const connect = loopbackOnlyConnect();
    await control(lookup, connect);
    for (const path of [
      '/to-metadata',
      '/to-metadata-port',
      '/to-mapped',
      '/to-nat64',
      '/to-aws-v6',
      '/to-name',
    ]) {
      await assert.rejects(
        request({ base: `http://api.internal.test:${api.port}/v1`, path, lookup, connect }),
        code('http_redirect_refused'),
        path,
      );
    }
    assert.ok(
      connect.attempts.every((a) => a === '127.0.0.1'),
      'loopback only',
    );
    assert.ok(
      lookup.calls.every((name) => name === 'api.internal.test'),
      'no other lookup',
    );
  });

  it('refuses at connect time a refused address, whatever pinned it', async () => {
    const connect = loopbackOnlyConnect();
    const hop = {
      base: parseBase(`http://api.internal.test:${api.port}`),
      method: 'GET',
      requestPath: '/v1/x',
      headers: {},
      body: undefined,
      bearer: Secret.fromString(TOKEN),
      maxBytes: 1024,
      signal: new AbortController().signal,
      ca: undefined,
      connect,
    };
    const ok = await exchange({
      ...hop,
      pinned: { address: '127.0.0.1', family: 4 },
      allowedLiteral: undefined,
    });
    assert.equal(ok.status, 200, 'control: the exchange connects through connect');
    for (const address of REFUSED_ADDRESSES) {
      const pinned = { address, family: address.includes(':') ? 6 : 4 } as const;
      await assert.rejects(
        exchange({ ...hop, pinned, allowedLiteral: undefined }),
        code('http_destination_refused'),
        address,
      );
      await assert.rejects(
        exchange({ ...hop, pinned, allowedLiteral: '169.254.169.253' }),
        code('http_destination_refused'),
        address,
      );
    }
    await assert.rejects(
      exchange({
        ...hop,
        pinned: { address: 'not-an-address', family: 4 },
        allowedLiteral: undefined,
      }),
      code('http_destination_refused'),
    );
    assert.deepEqual(connect.attempts, ['127.0.0.1'], 'nothing else was connected');
  });
});
