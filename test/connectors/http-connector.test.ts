/**
 * The `http` connector: the operation it accepts, the capabilities and path policy it
 * enforces (alone and inside the real session lifecycle, where a refusal comes before any
 * credential exists), the credential checks before a request, and a real node:http server
 * that records the bearer token the broker sent and proves it never comes back; with an
 * injected lookup and a loopback-only connect, what reaches a metadata address (nothing
 * through a broad accord pattern; the literal only when the AC names it).
 */
import assert from 'node:assert/strict';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/base/audit-records.js';
import type { RunContext } from '../../src/connectors/connector.js';
import { InvocationDeniedError } from '../../src/governance/denials.js';
import { HttpConnector, type HttpOperation } from '../../src/connectors/http/connector.js';
import { decide, type Accord } from '../../src/governance/accords.js';
import { pathAllowed } from '../../src/governance/path-policy.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AcContext, Credential, OAuthCredential } from '../../src/credentials/types.js';
import { BastionError, InvalidArgumentError } from '../../src/base/errors.js';
import { capabilityMask, hasCapabilities } from '../../src/governance/capabilities.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { scriptedBackend } from '../helpers/backends.js';
import { fakeDns, loopbackOnlyConnect } from '../helpers/offhost.js';
import { sessionHarness } from '../helpers/session.js';

const TOKEN = 'eyJ0eXAiOiJhdCtqd3QifQ.conn-token-93bd.sig';
const LIMITS = { maxOutputBytes: 64 * 1024, timeoutMs: 5_000 };
const PATHS = { allow: ['GET /status', 'GET /status/*', 'GET /items/*'], deny: ['* /admin*'] };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

let server: Server;
let port = 0;
const seen: Seen[] = [];

before(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    if (req.url === '/v1/items/moved') {
      res.writeHead(302, { location: '/v1/admin/users' });
      return res.end();
    }
    if (req.url === '/v1/items/fine') {
      res.writeHead(302, { location: '/v1/items/landed' });
      return res.end();
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': `sid=${TOKEN}`,
      'www-authenticate': `Bearer realm="${TOKEN}"`,
    });
    res.end(JSON.stringify({ at: req.url, echoed: req.headers.authorization }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const target = () => `http://127.0.0.1:${port}/v1`;

/** `paths: undefined` means no path policy. */
function acFor(overrides: { [K in keyof AcContext]?: AcContext[K] | undefined } = {}): AcContext {
  return {
    ac_id: 'ac-1',
    principal_did: 'did:key:z6MkTest',
    capability_mask: capabilityMask(['read']),
    capabilities: ['read'],
    accord_template: 'api',
    connector: 'http',
    target: target(),
    expires_at: Math.floor(Date.now() / 1000) + 600,
    paths: PATHS,
    ...overrides,
  } as AcContext;
}

function oauth(overrides: Record<string, unknown> = {}): Credential {
  return {
    type: 'oauth',
    target: target(),
    accessToken: Secret.fromString(TOKEN),
    tokenType: 'Bearer',
    scopedTo: 'read',
    issuedBy: 'b',
    expiresAt: new Date(Date.now() + 60_000),
    ...overrides,
  };
}

function runContext(
  connector: HttpConnector,
  raw: unknown,
  overrides: Partial<RunContext<HttpOperation>> = {},
): RunContext<HttpOperation> {
  return {
    credential: oauth(),
    target: target(),
    operation: connector.parseOperation(raw),
    acContext: acFor(),
    limits: LIMITS,
    signal: new AbortController().signal,
    ...overrides,
  };
}

const code = (expected: string) => (err: unknown) =>
  err instanceof BastionError && err.code === expected;

/** A run for `target`: the AC, the credential and the request all name it. */
function forTarget(connector: HttpConnector, target: string, path: string) {
  return runContext(
    connector,
    { method: 'GET', path },
    { target, credential: oauth({ target }), acContext: acFor({ target, paths: undefined }) },
  );
}

describe('HttpConnector: operations', () => {
  const connector = new HttpConnector();

  it('reads {method, path, query?, headers?, body?} strictly, with the path canonical', () => {
    assert.deepEqual(
      connector.parseOperation({
        method: 'POST',
        path: '/items/%7ea',
        query: { q: '1' },
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      {
        method: 'POST',
        path: '/items/~a',
        query: { q: '1' },
        headers: { 'content-type': 'application/json' },
        body: '{}',
      },
    );
    assert.deepEqual(connector.parseOperation({ method: 'GET', path: '/status' }), {
      method: 'GET',
      path: '/status',
    });
    for (const bad of [
      null,
      [],
      'GET /',
      {},
      { method: 'GET' },
      { method: 'get', path: '/' },
      { method: 'TRACE', path: '/' },
      { method: 'CONNECT', path: '/' },
      { method: 'GET', path: 5 },
      { method: 'GET', path: '/', extra: 1 },
      { method: 'GET', path: '/', query: { a: 1 } },
      { method: 'GET', path: '/', query: ['a'] },
      { method: 'GET', path: '/', headers: { a: 1 } },
      { method: 'GET', path: '/', headers: 'x: y' },
      { method: 'GET', path: '/', body: 'x' },
      { method: 'HEAD', path: '/', body: 'x' },
      { method: 'POST', path: '/', body: {} },
    ]) {
      assert.throws(() => connector.parseOperation(bad), InvalidArgumentError, JSON.stringify(bad));
    }
  });

  it('refuses unsafe paths and headers already when parsing', () => {
    for (const path of ['/../admin', '/a/%2e%2e/admin', '/a\\admin', '/a%5cadmin', 'admin']) {
      assert.throws(
        () => connector.parseOperation({ method: 'GET', path }),
        code('http_path_invalid'),
        path,
      );
    }
    assert.throws(
      () => connector.parseOperation({ method: 'GET', path: '/', headers: { 'x-a': 'b\r\nc: d' } }),
      code('http_header_invalid'),
    );
    for (const name of [
      'Authorization',
      'Transfer-Encoding',
      'Connection',
      'Proxy-Authorization',
    ]) {
      assert.throws(
        () => connector.parseOperation({ method: 'GET', path: '/', headers: { [name]: 'x' } }),
        code('http_header_forbidden'),
        name,
      );
    }
    const small = new HttpConnector({ maxRequestBytes: 4 });
    assert.throws(
      () => small.parseOperation({ method: 'POST', path: '/', body: '12345' }),
      code('http_body_too_large'),
    );
  });

  it('needs read for GET and HEAD, write for the rest, and is not a command', () => {
    const read = capabilityMask(['read']);
    for (const method of ['GET', 'HEAD'] as const) {
      assert.deepEqual(connector.requiredCapabilities({ method, path: '/' }), ['read']);
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const required = connector.requiredCapabilities({ method, path: '/' });
      assert.deepEqual(required, ['write']);
      assert.equal(hasCapabilities(read, required), false, `${method} with only read`);
    }
    assert.equal(connector.commandLine(), undefined);
    assert.equal(connector.name, 'http');
    assert.equal(connector.credentialType, 'oauth');
  });
});

describe('HttpConnector: path policy', () => {
  const connector = new HttpConnector();
  const allowed = (method: string, path: string, paths: AcContext['paths'] = PATHS) =>
    pathAllowed(paths, method, path);

  it('matches METHOD and path; deny wins; no policy allows every path', () => {
    assert.equal(allowed('GET', '/status'), true);
    assert.equal(allowed('GET', '/status/db'), true);
    assert.equal(allowed('HEAD', '/status'), false, 'methods are matched exactly');
    assert.equal(allowed('POST', '/status/db'), false);
    assert.equal(allowed('GET', '/other'), false);
    assert.equal(allowed('GET', '/admin'), false, 'deny `* /admin*` covers /admin itself');
    assert.equal(allowed('DELETE', '/admin/users'), false);
    assert.equal(allowed('GET', '/items/admin'), true, 'deny is anchored at the start');
    assert.equal(pathAllowed(undefined, 'GET', '/anything'), true);
    assert.equal(allowed('GET', '/status', { allow: [], deny: [] }), false);
    assert.equal(allowed('GET', '/status', { allow: ['*'], deny: [] }), true);
  });

  it('treats a pattern that starts with / as any method', () => {
    const paths = { allow: ['/public/*'], deny: ['/public/secret*'] };
    assert.equal(allowed('GET', '/public/a', paths), true);
    assert.equal(allowed('PUT', '/public/a', paths), true);
    assert.equal(allowed('GET', '/public/secret', paths), false);
    assert.equal(allowed('GET', '/private', paths), false);
  });

  it('denies generously: case, ASCII escapes, a trailing slash', () => {
    const paths = { allow: ['*'], deny: ['* /admin*', 'GET /api/internal/*'] };
    assert.equal(allowed('GET', '/ADMIN', paths), false);
    assert.equal(allowed('HEAD', '/api/internal/x', paths), false, 'a GET deny covers HEAD');
    assert.equal(allowed('GET', '/Admin/x', paths), false);
    assert.equal(allowed('get', '/admin', paths), false);
    assert.equal(allowed('GET', '/api%2Finternal%2Fx', paths), false);
    assert.equal(allowed('GET', '/api/internal', paths), false, 'the directory itself');
    assert.equal(allowed('GET', '/api/internal/', paths), false);
    assert.equal(allowed('GET', '/api/internals', paths), true);
    assert.equal(allowed('GET', '/admin/', { allow: ['*'], deny: ['* /admin'] }), false);
    assert.equal(allowed('GET', '/administrator', { allow: ['*'], deny: ['* /admin'] }), true);
    // The canonical form decodes unreserved escapes, so `%61dmin` is `admin` before matching.
    const op = connector.parseOperation({ method: 'GET', path: '/%61dmin' });
    assert.equal(op.path, '/admin');
    assert.equal(allowed(op.method, op.path, paths), false);
  });

  it('checkPolicy throws path_not_allowed', () => {
    assert.throws(
      () =>
        connector.checkPolicy(
          connector.parseOperation({ method: 'GET', path: '/admin/users' }),
          acFor(),
        ),
      (e: unknown) =>
        e instanceof InvocationDeniedError && e.code === 'path_not_allowed' && e.status === 403,
    );
    assert.doesNotThrow(() =>
      connector.checkPolicy(connector.parseOperation({ method: 'GET', path: '/status' }), acFor()),
    );
    assert.doesNotThrow(() =>
      connector.checkPolicy(
        connector.parseOperation({ method: 'GET', path: '/admin' }),
        acFor({ paths: undefined }),
      ),
    );
  });
});

describe('HttpConnector: run', () => {
  const connector = new HttpConnector();

  it('sends the bearer token, which reaches the server and never the result', async () => {
    const credential = oauth({ tokenType: 'bearer' });
    const r = await connector.run(
      runContext(connector, { method: 'GET', path: '/status', query: { v: '1' } }, { credential }),
    );
    assert.equal(r.status, 200);
    assert.equal(seen.at(-1)?.url, '/v1/status?v=1');
    assert.equal(seen.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    // The server echoed the token in its body; the result still holds it, which is why
    // the body is the caller's and never audited. Headers that carry tokens are dropped.
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(r.headers['www-authenticate'], undefined);
    const detail = JSON.stringify(connector.auditDetail(r));
    const planted = JSON.stringify({ ...connector.auditDetail(r), x: TOKEN });
    assert.ok(planted.includes(TOKEN), 'the check finds a planted copy');
    assert.ok(!detail.includes(TOKEN));
    assert.deepEqual(Object.keys(connector.auditDetail(r)).sort(), [
      'body_bytes',
      'redirects',
      'status',
      'timed_out',
      'truncated',
    ]);
    assert.equal(connector.auditDetail(r).body_bytes, Buffer.byteLength(r.body));
  });

  it('refuses a credential that is not a bearer token for this target, before sending', async () => {
    const count = seen.length;
    for (const credential of [
      oauth({ target: 'http://127.0.0.1:1/v1' }),
      oauth({ tokenType: 'DPoP' }),
      oauth({ tokenType: 'mac' }),
      { ...oauth(), type: 'ssh_cert' } as unknown as Credential,
    ]) {
      await assert.rejects(
        connector.run(runContext(connector, { method: 'GET', path: '/status' }, { credential })),
        (e: unknown) => code('http_credential_invalid')(e) && (e as BastionError).status === 502,
      );
    }
    await assert.rejects(
      connector.run(
        runContext(
          connector,
          { method: 'GET', path: '/status' },
          { acContext: acFor({ target: 'http://127.0.0.1:2/v1' }) },
        ),
      ),
      code('http_credential_invalid'),
      'the AC is for another target',
    );
    assert.equal(seen.length, count, 'nothing was sent');
  });

  it('refuses AWS keys for a target that takes a bearer token, and a token for one that takes AWS keys', async () => {
    const count = seen.length;
    const aws = {
      ...oauth(),
      type: 'aws',
      accessKeyId: 'ASIAEXAMPLEEXAMPLE00',
      secretAccessKey: Secret.fromString('s'.repeat(40)),
      sessionToken: Secret.fromString('t'.repeat(64)),
    } as unknown as Credential;
    await assert.rejects(
      connector.run(runContext(connector, { method: 'GET', path: '/status' }, { credential: aws })),
      code('http_credential_invalid'),
      'aws keys where oauth is configured',
    );
    const signing = new HttpConnector({
      lookup: fakeDns({}),
      connect: loopbackOnlyConnect(),
      credentials: [{ targets: [target()], type: 'aws', region: 'eu-west-1', service: 's3' }],
    });
    await assert.rejects(
      signing.run(runContext(signing, { method: 'GET', path: '/status' })),
      code('http_credential_invalid'),
      'a bearer token where aws is configured',
    );
    assert.equal(seen.length, count, 'nothing was sent');
  });

  it('holds redirects to the accord path policy', async () => {
    const fine = await connector.run(runContext(connector, { method: 'GET', path: '/items/fine' }));
    assert.equal(fine.redirects, 1);
    await assert.rejects(
      connector.run(runContext(connector, { method: 'GET', path: '/items/moved' })),
      code('http_redirect_refused'),
    );
    assert.ok(!seen.some((s) => s.url.startsWith('/v1/admin')), 'the denied path was not fetched');
  });

  it('uses its lookup and connect options, and refuses a name that resolves to the metadata address', async () => {
    const lookup = fakeDns({
      'api.internal.test': '127.0.0.1',
      'metadata.internal.test': '169.254.169.254',
    });
    const connect = loopbackOnlyConnect();
    const withDns = new HttpConnector({ lookup, connect });
    const api = `http://api.internal.test:${port}/v1`;
    const ok = await withDns.run(forTarget(withDns, api, '/status'));
    assert.equal(ok.status, 200);
    assert.deepEqual(connect.attempts, ['127.0.0.1'], 'control: the connector used connect');
    await assert.rejects(
      withDns.run(
        forTarget(withDns, `http://metadata.internal.test:${port}`, '/latest/meta-data/'),
      ),
      code('http_destination_refused'),
    );
    assert.deepEqual(connect.attempts, ['127.0.0.1'], 'the metadata address was not connected');
  });

  it("reaches a refused literal only when it is the AC's own target", async () => {
    const lookup = fakeDns({ 'api.internal.test': '127.0.0.1' });
    const connect = loopbackOnlyConnect();
    const withDns = new HttpConnector({ lookup, connect });
    assert.equal(
      (await withDns.run(forTarget(withDns, `http://api.internal.test:${port}/v1`, '/status')))
        .status,
      200,
      'control',
    );
    // An AC for a refused literal exists only when an accord spelled it (decide, below): the
    // connector lets the transport connect to that literal, and to nothing else.
    for (const host of ['169.254.169.254', '[fd00:ec2::254]', '[::ffff:a9fe:a9fe]']) {
      const literal = `http://${host}:${port}`;
      await assert.rejects(
        withDns.run(forTarget(withDns, literal, '/x')),
        code('http_connect_failed'),
      );
      assert.equal(connect.attempts.at(-1), host.replace(/^\[|\]$/g, ''), literal);
    }
    assert.equal(connect.attempts.length, 4);
  });

  it('never sends a token to a metadata address through a broad accord pattern', async () => {
    const accord = (targets: string[]): Accord => ({
      id: 'api',
      principals: ['did:key:z6MkTest'],
      connectors: ['http'],
      targets,
      capabilities: ['read'],
      max_duration_seconds: 300,
      approvals: { required: 0, approvers: [] },
      admins: [],
    });
    const ask = (targets: string[], target: string) =>
      decide(
        new Map([['api', accord(targets)]]),
        {
          principal_did: 'did:key:z6MkTest',
          accord: 'api',
          connector: 'http',
          target,
          capabilities: ['read'],
          duration_seconds: 60,
        },
        new Date(),
      ).target;
    const lookup = fakeDns({
      'api.internal.test': '127.0.0.1',
      'meta.internal.test': '169.254.169.254',
      'mixed.internal.test': ['127.0.0.1', 'fd00:ec2::254'],
    });
    const connect = loopbackOnlyConnect();
    const withDns = new HttpConnector({ lookup, connect });
    const wide = ['*', `http://*:${port}`];
    for (const pattern of [...wide, `http://*.internal.test:${port}`]) {
      const api = ask([pattern], `http://api.internal.test:${port}`);
      const before = connect.attempts.length;
      assert.equal((await withDns.run(forTarget(withDns, api, '/status'))).status, 200, pattern);
      assert.equal(connect.attempts.length, before + 1, 'control: the connector used connect');
      // A name the pattern grants, whose DNS answers a metadata address: the transport refuses.
      for (const name of ['meta', 'mixed']) {
        const granted = ask([pattern], `http://${name}.internal.test:${port}`);
        await assert.rejects(
          withDns.run(forTarget(withDns, granted, '/latest/meta-data/')),
          code('http_destination_refused'),
          `${pattern} ${name}`,
        );
      }
      // A literal metadata address: no AC is issued through a wildcard.
      for (const literal of ['169.254.169.254', '[::ffff:a9fe:a9fe]', '[64:ff9b::a9fe:a9fe]']) {
        assert.throws(
          () => ask([pattern], `http://${literal}:${port}`),
          code(wide.includes(pattern) ? 'target_address_refused' : 'target_not_allowed'),
          `${pattern} ${literal}`,
        );
      }
    }
    assert.throws(
      () => ask(['http://*'], 'http://169.254.169.254'),
      code('target_address_refused'),
    );
    assert.ok(
      connect.attempts.every((a) => a === '127.0.0.1'),
      'loopback only',
    );
  });
});

describe('HttpConnector in the session lifecycle', () => {
  async function setup(ctx: { mask: number; paths?: AcContext['paths'] }) {
    const issued: OAuthCredential[] = [];
    const backend = scriptedBackend('b', (_type, t) => {
      const c = oauth({ target: t }) as OAuthCredential;
      issued.push(c);
      return Promise.resolve(c);
    });
    const resolver = new CredentialResolver();
    resolver.register(backend);
    const events: AuditEvent[] = [];
    const harness = await sessionHarness({
      jti: 'ac-http',
      ctx: {
        principal_did: '',
        capability_mask: ctx.mask,
        capabilities: ctx.mask === 1 ? ['read'] : ['read', 'write'],
        accord_template: 'api',
        connector: 'http',
        target: target(),
        ...(ctx.paths !== undefined ? { paths: ctx.paths } : {}),
      },
      connector: new HttpConnector(),
      resolver,
      audit: {
        append: (e) => {
          events.push(e);
          return Promise.resolve();
        },
      },
      limits: LIMITS,
    });
    const invoke = (operation: unknown) => harness.invoke(target(), operation);
    return { invoke, events, issued, backend };
  }

  it('runs an allowed request, then discards the token; neither reply nor audit holds it', async () => {
    const t = await setup({ mask: 1, paths: PATHS });
    const reply = await t.invoke({ method: 'GET', path: '/status/db' });
    const result = reply.result as HttpResult;
    assert.equal(result.status, 200);
    assert.equal(seen.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(t.issued[0]?.accessToken.disposed, true);
    assert.equal(t.backend.revoked.length, 1);
    const end = t.events.find((e) => e.type === 'invoke_end');
    assert.equal(end?.detail?.status, 200);
    assert.equal(end?.detail?.body, undefined);
    const audit = JSON.stringify(t.events);
    assert.ok(JSON.stringify([...t.events, TOKEN]).includes(TOKEN), 'the check works');
    assert.ok(!audit.includes(TOKEN), 'the audit never holds the token');
    const { echoed: _echoed, ...rest } = JSON.parse(result.body) as Record<string, unknown>;
    assert.ok(!JSON.stringify({ ...reply, result: { ...result, body: rest } }).includes(TOKEN));
  });

  it('refuses a path outside the accord before any credential exists (path_not_allowed)', async () => {
    const t = await setup({ mask: 1, paths: PATHS });
    const count = seen.length;
    await assert.rejects(
      t.invoke({ method: 'GET', path: '/admin/users' }),
      (e: unknown) => e instanceof InvocationDeniedError && e.code === 'path_not_allowed',
    );
    assert.equal(t.backend.calls.length, 0, 'no credential was issued');
    assert.equal(seen.length, count, 'nothing was sent');
    assert.equal(t.events.at(-1)?.type, 'deny');
    assert.equal(t.events.at(-1)?.outcome, 'path_not_allowed');
  });

  it('refuses POST under a read-only AC (capability_missing)', async () => {
    const t = await setup({ mask: 1 });
    await assert.rejects(
      t.invoke({ method: 'POST', path: '/items/x', body: '{}' }),
      (e: unknown) => e instanceof InvocationDeniedError && e.code === 'capability_missing',
    );
    assert.equal(t.backend.calls.length, 0);
    const w = await setup({ mask: capabilityMask(['read', 'write']) });
    const ok = await w.invoke({ method: 'POST', path: '/items/x', body: '{}' });
    assert.equal((ok.result as HttpResult).status, 200);
  });
});
