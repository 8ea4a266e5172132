/**
 * The HTTP edge against real servers on 127.0.0.1: the broker, the Bascule runtime and the
 * MCP bridge over HTTP. What Fastify or Node refuses on their own (a bad percent-escape, a
 * path parameter too long, a method no route takes, HTTP that does not parse) leaves in our
 * `{"error": {"code", "message"}}` shape with the catalog's fixed message and a 4xx, never
 * quoting the request, and without an error-level log line (anyone could flood the log);
 * a bug of ours is still a generic 500, logged — which also proves the log capture sees
 * error lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type RunningBascule, startBascule } from '../../src/bascule/runtime.js';
import { ERROR_CATALOG } from '../../src/base/error-catalog.js';
import { Secret } from '../../src/credentials/secret.js';
import { createEdgeFastify } from '../../src/edge/errors.js';
import { type RunningMcpHttp, startMcpHttp } from '../../src/mcp/http.js';
import { type JwksServer, NAME, brokerKey, startJwksServer } from '../bascule/fixtures.js';
import { type TestBroker, startTestBroker } from '../helpers/broker.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';

interface Logs {
  readonly stream: Writable;
  readonly lines: string[];
}

function capture(): Logs {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

/** Log lines at pino's error level (50) or above. */
function errorLines(logs: Logs): string[] {
  return logs.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
}

interface Answer {
  status: number;
  allow: string | null;
  text: string;
}

async function send(url: string, method: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { ...init, method });
  return {
    status: response.status,
    allow: response.headers.get('allow'),
    text: await response.text(),
  };
}

/** Our shape, the catalog's status and fixed message for `code`. */
function expectError(answer: Answer, code: string): void {
  const spec = ERROR_CATALOG.get(code);
  assert.ok(spec !== undefined, code);
  assert.equal(answer.status, spec.status, answer.text);
  assert.ok(answer.status >= 400 && answer.status < 500, 'a client error, not a 500');
  assert.deepEqual(JSON.parse(answer.text), { error: { code, message: spec.message } });
}

/** Raw bytes on a socket, for requests no HTTP client would send; the whole answer. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

function bodyOf(rawAnswer: string): unknown {
  return JSON.parse(rawAnswer.slice(rawAnswer.indexOf('\r\n\r\n') + 4));
}

const dir = mkdtempSync(join(tmpdir(), 'bastion-edge-'));
const brokerLogs = capture();
const basculeLogs = capture();
let broker: TestBroker;
let jwks: JwksServer;
let bascule: RunningBascule;
let mcp: RunningMcpHttp;
const MCP_TOKEN = 'edge-test-token-'.padEnd(40, 'x');

before(async () => {
  broker = await startTestBroker({ logs: brokerLogs.stream, logLevel: 'info' });
  jwks = await startJwksServer([brokerKey('broker-1').jwk]);
  bascule = await startBascule({
    name: NAME,
    jwksUrl: jwks.url,
    listen: { host: '127.0.0.1', port: 0 },
    auditFile: join(dir, 'audit.jsonl'),
    cwd: dir,
    logDestination: basculeLogs.stream,
  });
  mcp = await startMcpHttp({
    bridge: () => new McpServer({ name: 'edge-test', version: '0' }),
    host: '127.0.0.1',
    port: 0,
    token: Secret.fromString(MCP_TOKEN),
  });
});

after(async () => {
  await mcp.close();
  await bascule.close();
  await jwks.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The two Fastify servers, with a route of each and what else they serve. */
const servers = () => [
  {
    name: 'broker',
    url: broker.url,
    http: broker.server.app.server,
    logs: brokerLogs,
    postRoute: '/governance/authorize/',
    paramRoute: '/governance/acs/',
    methods: 'GET, HEAD, POST',
  },
  {
    name: 'Bascule',
    url: bascule.url,
    http: bascule.app.server,
    logs: basculeLogs,
    postRoute: '/v1/exec',
    paramRoute: undefined,
    methods: 'GET, HEAD, POST',
  },
];

describe('the HTTP edge of the broker and of Bascule', () => {
  it('answers a URL with a bad percent-escape with malformed_url, never quoting the path', async () => {
    for (const s of servers()) {
      const marker = newMarker();
      for (const path of [`/%zz${marker}`, `${s.postRoute}/%zz${marker}`, `/healthz%${marker}`]) {
        const answer = await send(s.url + path, 'GET');
        expectError(answer, 'malformed_url');
        expectNoMarker(answer.text, marker, `${s.name}'s answer`);
      }
    }
  });

  it('answers a path parameter past its length with url_too_long, never quoting it', async () => {
    const marker = newMarker();
    const answer = await send(`${broker.url}/governance/acs/${marker}${'x'.repeat(200)}`, 'GET');
    expectError(answer, 'url_too_long');
    expectNoMarker(answer.text, marker, "the broker's answer");
  });

  it('answers QUERY, PROPFIND and other unserved methods with 405 and Allow, before any body is read', async () => {
    for (const s of servers()) {
      const cases: [string, string, RequestInit, string][] = [
        // QUERY without a Content-Type was a 500 and a stack in the error log.
        ['QUERY', s.postRoute, {}, 'POST'],
        // A body that would be malformed_json if it were parsed.
        [
          'QUERY',
          s.postRoute,
          { headers: { 'content-type': 'application/json' }, body: '{' },
          'POST',
        ],
        ['PROPFIND', '/healthz', {}, 'GET, HEAD'],
        ['DELETE', '/healthz', {}, 'GET, HEAD'],
        [
          'POST',
          '/healthz',
          { headers: { 'content-type': 'application/json' }, body: '{' },
          'GET, HEAD',
        ],
        ['GET', s.postRoute, {}, 'POST'],
        ['OPTIONS', s.postRoute, {}, 'POST'],
        // A method no route takes, on a path no route serves: every method the server takes.
        ['QUERY', '/nowhere', {}, s.methods],
        ['PROPFIND', '/nowhere', {}, s.methods],
      ];
      for (const [method, path, init, allow] of cases) {
        const answer = await send(s.url + path, method, init);
        expectError(answer, 'method_not_allowed');
        assert.equal(answer.allow, allow, `${s.name} ${method} ${path}`);
      }
      // A method the server takes, on a path it does not serve, is still a 404.
      const missing = await send(`${s.url}/nowhere`, 'POST', {
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      expectError(missing, 'not_found');
    }
    const param = await send(`${broker.url}/governance/acs/some-id`, 'QUERY');
    assert.equal(param.allow, 'GET, HEAD', 'a route with a parameter is matched too');
  });

  it('answers HTTP that Node cannot parse in our shape', async () => {
    for (const s of servers()) {
      const badMethod = await rawExchange(s.url, 'FOO%zz / HTTP/1.1\r\nhost: x\r\n\r\n');
      assert.match(badMethod, /^HTTP\/1\.1 400 /);
      assert.deepEqual(bodyOf(badMethod), {
        error: { code: 'bad_request', message: ERROR_CATALOG.get('bad_request')?.message },
      });
      const marker = newMarker();
      const huge = await rawExchange(
        s.url,
        `GET /healthz HTTP/1.1\r\nhost: x\r\nx-pad: ${marker}${'a'.repeat(20_000)}\r\n\r\n`,
      );
      assert.match(huge, /^HTTP\/1\.1 431 /);
      assert.equal((bodyOf(huge) as { error: { code: string } }).error.code, 'headers_too_large');
      expectNoMarker(huge, marker, `${s.name}'s answer`);
    }
  });

  it('logs no error for a body the client stopped sending midway', async () => {
    for (const s of servers()) {
      // The server's own side of the socket closes once the server has handled the abort.
      const handled = new Promise((resolve) =>
        s.http.once('connection', (socket: Socket) => socket.once('close', resolve)),
      );
      const { hostname, port } = new URL(s.url);
      const socket = connect(Number(port), hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      // The broker reads the body of a route before authenticating; Bascule judges the
      // grant first. Either way the request is dropped, not logged as a bug.
      socket.write(
        `POST ${s.postRoute} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          'content-length: 100\r\n\r\n{"a":',
      );
      socket.destroy();
      await handled;
    }
  });

  it('wrote no error-level log line for any of it', () => {
    for (const s of servers()) {
      assert.ok(s.logs.lines.length > 0, `${s.name} logs were captured`);
      assert.deepEqual(errorLines(s.logs), [], `${s.name} logged an error`);
    }
  });
});

describe('the HTTP edge of the MCP bridge', () => {
  it('answers HTTP that Node cannot parse in our shape, and unserved methods with 405', async () => {
    const badMethod = await rawExchange(mcp.url, 'FOO%zz /mcp HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.match(badMethod, /^HTTP\/1\.1 400 /);
    assert.equal((bodyOf(badMethod) as { error: { code: string } }).error.code, 'bad_request');
    const query = await send(mcp.url, 'QUERY', {
      headers: { authorization: `Bearer ${MCP_TOKEN}` },
    });
    expectError(query, 'method_not_allowed');
    assert.equal(query.allow, 'POST');
  });
});

describe('a bug behind the edge', () => {
  it('is a generic 500 that says nothing of it, logged at error level', async () => {
    const logs = capture();
    const app = createEdgeFastify({
      challenge: 'Bearer realm="test"',
      logger: { level: 'info', stream: logs.stream },
      bodyLimit: 1024,
    });
    const marker = newMarker();
    app.get('/bug', () => {
      throw new Error(`a bug of ours: ${marker}`);
    });
    try {
      const answer = await app.inject({ method: 'GET', url: '/bug' });
      assert.equal(answer.statusCode, 500);
      assert.deepEqual(answer.json(), {
        error: { code: 'internal_error', message: 'Internal server error' },
      });
      expectNoMarker(answer.body, marker, 'the answer');
      assert.equal(errorLines(logs).length, 1, 'the bug is logged');
      assert.ok(errorLines(logs)[0]?.includes(marker), 'with its own text, for the operator');
    } finally {
      await app.close();
    }
  });

  it('stops a server whose route pattern the method table cannot read', async () => {
    const app = createEdgeFastify({ challenge: 'x', logger: false });
    assert.throws(() => app.get('/files/:name.txt', () => 'x'), /cannot read its pattern/);
    await app.close();
  });
});
