/**
 * The HTTP connector through the broker: a real API on 127.0.0.1 that accepts only a token
 * for exactly its audience and scope (verified with jose against the dev backend's JWKS).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { BrokerError } from '../../src/client/client.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { bastionAsync } from '../helpers/cli.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';

describe('HTTP connector through the broker', () => {
  let b: ConnectorBroker;
  let api: Server;
  let base = '';
  const seen: string[] = [];
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;

  before(async () => {
    api = createServer((req, res) => {
      void (async () => {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        seen.push(token);
        try {
          if (jwks === undefined) throw new Error('no keys');
          const { payload } = await jwtVerify(token, jwks, { audience: base, typ: 'at+jwt' });
          const scopes = typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : [];
          const need = req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write';
          if (!scopes.includes(need)) {
            res.writeHead(403).end();
            return;
          }
          res.writeHead(200, {
            'content-type': 'application/json',
            'set-cookie': `session=${token}`,
          });
          res.end(JSON.stringify({ ok: true, path: req.url, sub: payload.sub }));
        } catch {
          res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        }
      })();
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    const address = api.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    b = await startConnectorBroker({ httpTarget: base });
    // The credentials come from the test's dev backend (behind the spy): trust its keys.
    jwks = createLocalJWKSet(b.dev.jwks());
  });
  after(async () => {
    await b.close();
    api.close();
  });

  const refused = (code: string, status: number) => (e: unknown) =>
    e instanceof BrokerError && e.code === code && e.status === status;

  it('GET with a token for exactly this audience and scope; the token never comes back', async () => {
    const ac = await b.ac('http-api', 'http', base, ['read']);
    const r = await b.client().invoke<HttpResult>('http', ac.token, {
      target: base,
      operation: { method: 'GET', path: '/status', query: { verbose: '1' } },
    });
    assert.equal(r.result.status, 200);
    assert.deepEqual(JSON.parse(r.result.body), {
      ok: true,
      path: '/status?verbose=1',
      sub: b.alice.did,
    });
    assert.equal(r.credential.type, 'oauth');
    const token = seen.at(-1) ?? '';
    assert.ok(token.length > 100, 'the API saw a bearer token');
    const reply = JSON.stringify(r);
    assert.ok(JSON.stringify({ echo: token }).includes(token), 'control: the check sees a token');
    assert.ok(
      !reply.includes(token) && !reply.includes(token.split('.')[2] ?? token),
      'no token in the reply',
    );
    assert.equal(r.result.headers['set-cookie'], undefined);
    const issued = b.spy.issued.at(-1);
    assert.equal(issued?.type, 'oauth');
    assert.ok(
      b.spy.revoked.some((c) => c.id === issued?.id),
      'revoked after use',
    );
  });

  it('refuses a write with only read, a path outside the accord, and a token the API would not take', async () => {
    const ro = await b.ac('http-api', 'http', base, ['read']);
    await assert.rejects(
      b.client().invoke('http', ro.token, {
        target: base,
        operation: { method: 'POST', path: '/items', body: '{}' },
      }),
      refused('capability_missing', 403),
    );
    await assert.rejects(
      b.client().invoke('http', ro.token, {
        target: base,
        operation: { method: 'GET', path: '/admin/users' },
      }),
      refused('path_not_allowed', 403),
    );
    await assert.rejects(
      b.client().invoke('http', ro.token, {
        target: base,
        operation: { method: 'GET', path: '/status', headers: { authorization: 'Bearer x' } },
      }),
      (e: unknown) => e instanceof BrokerError && e.status === 400,
    );
    const rw = await b.ac('http-api', 'http', base, ['read', 'write']);
    const posted = await b.client().invoke<HttpResult>('http', rw.token, {
      target: base,
      operation: {
        method: 'POST',
        path: '/items',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      },
    });
    assert.equal(posted.result.status, 200);
    const entries = await b.server.audit.list({ ac_id: rw.id, type: 'invoke_start' });
    assert.equal(entries[0]?.detail?.['operation'], 'POST /items');
  });

  it('the CLI takes the operation as flags derived from the connector schema', async () => {
    const ac = await b.ac('http-api', 'http', base, ['read', 'write']);
    const keyFile = join(b.dataDir, 'alice.pem');
    writeFileSync(keyFile, b.alice.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
    });
    const cli = (...flags: string[]) =>
      bastionAsync(['invoke', ac.id, '--key', keyFile, '--url', b.server.url, ...flags]);
    const ok = await cli('--method', 'GET', '--path', '/status', '--query', 'verbose=1');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), {
      ok: true,
      path: '/status?verbose=1',
      sub: b.alice.did,
    });
    const posted = await cli('--method', 'POST', '--path', '/items', '--body', '{}', '--json');
    assert.equal(posted.status, 0, posted.stderr);
    assert.equal(JSON.parse(posted.stdout).result.status, 200);
    // The accord's path policy refuses before anything is sent: the broker's code, exit 1.
    const denied = await cli('--method', 'GET', '--path', '/admin/users');
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /path_not_allowed/);
    // A flag of another connector is named, and nothing reaches the broker.
    const wrong = await cli('--command', 'uptime');
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /option --command \(connector http does not take it\)/);
    const bad = await cli('--method', 'FETCH', '--path', '/status');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /invalid_argument: Invalid operation \(method: expected one of GET/);
  });

  it('publishes the embedded dev backend keys for resource servers', () => {
    const file = JSON.parse(
      readFileSync(join(b.dataDir, 'dev-jwks.json'), 'utf8'),
    ) as JSONWebKeySet;
    assert.deepEqual(file, b.server.dev?.jwks());
  });
});
