/**
 * The Streamable HTTP bridge's DNS-rebinding guards (MCP spec, "Transports": servers must
 * validate Origin; local servers should bind to loopback and check Host): a Host header
 * naming another address, or a browser Origin not listed, is refused with 403 before the
 * bearer token is even looked at; a request without Origin (not from a browser) and the
 * names a proxy sends, when listed, get through to authentication.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Secret } from '../../src/credentials/secret.js';
import { type RunningMcpHttp, startMcpHttp } from '../../src/mcp/http.js';

const TOKEN = 'g'.repeat(40);

interface Reply {
  status: number;
  code: string | undefined;
}

/** A POST to 127.0.0.1:`port` with exactly these headers (fetch would not send our Host). */
function post(port: number, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          const parsed = JSON.parse(body || '{}') as { error?: { code?: string } };
          resolve({ status: res.statusCode ?? 0, code: parsed.error?.code });
        });
      },
    );
    req.on('error', reject);
    req.end('{not json');
  });
}

const bridge = () => {
  throw new Error('no request may reach the bridge in these tests');
};

async function listen(options: {
  allowedHosts?: string[];
  allowedOrigins?: string[];
}): Promise<{ running: RunningMcpHttp; port: number }> {
  const running = await startMcpHttp({
    bridge,
    host: '127.0.0.1',
    port: 0,
    token: Secret.fromString(TOKEN),
    ...options,
  });
  return { running, port: Number(new URL(running.url).port) };
}

describe('startMcpHttp: Host and Origin', () => {
  let plain: { running: RunningMcpHttp; port: number };
  let listed: { running: RunningMcpHttp; port: number };
  before(async () => {
    plain = await listen({});
    listed = await listen({
      allowedHosts: ['mcp.proxy.test:443'],
      allowedOrigins: ['https://console.example.test'],
    });
  });
  after(async () => {
    await plain.running.close();
    await listed.running.close();
  });

  it('takes its own address and the loopback names, with its port', async () => {
    const { port } = plain;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      // Through to authentication: no token, 401; the guards let it pass.
      assert.deepEqual(await post(port, { host }), { status: 401, code: 'mcp_unauthorized' });
    }
    const authed = await post(port, {
      host: `127.0.0.1:${port}`,
      authorization: `Bearer ${TOKEN}`,
    });
    assert.deepEqual(authed, { status: 400, code: 'malformed_json' });
  });

  it('refuses a Host naming another address, before authentication', async () => {
    const { port } = plain;
    for (const host of [
      `rebind.attacker.test:${port}`,
      'localhost:1',
      'localhost',
      `127.0.0.1:${port}.attacker.test`,
    ]) {
      const reply = await post(port, { host, authorization: `Bearer ${TOKEN}` });
      assert.deepEqual(reply, { status: 403, code: 'mcp_host_refused' }, host);
    }
    assert.deepEqual(await post(listed.port, { host: 'mcp.proxy.test:443' }), {
      status: 401,
      code: 'mcp_unauthorized',
    });
  });

  it('refuses a browser Origin that is not listed, before authentication', async () => {
    const { port } = plain;
    const host = `127.0.0.1:${port}`;
    for (const origin of ['https://attacker.test', 'null', `http://127.0.0.1:${port}`]) {
      const reply = await post(port, { host, origin, authorization: `Bearer ${TOKEN}` });
      assert.deepEqual(reply, { status: 403, code: 'mcp_origin_refused' }, origin);
    }
    const ok = await post(listed.port, {
      host: `127.0.0.1:${listed.port}`,
      origin: 'https://console.example.test',
    });
    assert.deepEqual(ok, { status: 401, code: 'mcp_unauthorized' });
    const other = await post(listed.port, {
      host: `127.0.0.1:${listed.port}`,
      origin: 'https://console.example.test.attacker.test',
    });
    assert.deepEqual(other, { status: 403, code: 'mcp_origin_refused' });
  });
});
