/**
 * `GET /healthz` and `GET /readyz` over real HTTP, unauthenticated: ready while the store
 * answers, the signing key is loaded and each credential type has a backend whose circuit
 * is not open; a 503 naming the failed check when the store is closed or the only backend
 * of a type has its circuit open — with counts, never a backend id or an error text. Both
 * are in /openapi.json.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server/app.js';
import { acFor, oauthCredential, scriptedBackend, TARGET } from '../helpers/backends.js';

async function start(
  backends = [scriptedBackend('flaky', () => Promise.reject(new Error('down: secret-text')))],
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-ready-'));
  const config = parseConfig(
    `listen: 127.0.0.1:0\ndata_dir: ${dataDir}\naccords: []\n`,
    join(dataDir, 'bastion.yaml'),
  );
  return startServer({ config, backends, logDestination: false });
}

async function readyz(url: string) {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, text: await r.text() };
}

describe('GET /healthz and /readyz', () => {
  it('are ready on a fresh broker, and documented', async () => {
    const server = await start();
    try {
      const live = await fetch(`${server.url}/healthz`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: 'ok' });
      const r = await readyz(server.url);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(JSON.parse(r.text), {
        status: 'ready',
        checks: { store: 'ok', signing_key: 'ok', backends: 'ok' },
        backends: { total: 2, closed: 2, half_open: 0, open: 0 },
      });
      const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      assert.ok(doc.paths['/healthz']?.['get']?.responses['200']);
      assert.ok(doc.paths['/readyz']?.['get']?.responses['503']);
    } finally {
      await server.close();
    }
  });

  it('is 503 naming the store when the store cannot be read', async () => {
    const server = await start();
    try {
      await server.store.close();
      const r = await readyz(server.url);
      assert.equal(r.status, 503, r.text);
      const body = JSON.parse(r.text) as { status: string; checks: Record<string, string> };
      assert.equal(body.status, 'not_ready');
      assert.deepEqual(body.checks, { store: 'failed', signing_key: 'ok', backends: 'ok' });
      // Liveness is not readiness: the process still serves.
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close().catch(() => undefined);
    }
  });

  it('is 503 naming the backends when the only backend of a type has its circuit open', async () => {
    const server = await start();
    try {
      // Three failures in a row open the circuit (the default failover).
      for (let i = 0; i < 3; i++) {
        await assert.rejects(server.resolver.resolve('oauth', TARGET, acFor(TARGET, Date.now())));
      }
      assert.equal(server.backendHealth().find((b) => b.id === 'flaky')?.state, 'open');
      const r = await readyz(server.url);
      assert.equal(r.status, 503, r.text);
      assert.deepEqual(JSON.parse(r.text), {
        status: 'not_ready',
        checks: { store: 'ok', signing_key: 'ok', backends: 'failed' },
        backends: { total: 2, closed: 1, half_open: 0, open: 1 },
      });
      // Counts only: no backend id, no backend text.
      assert.ok(!r.text.includes('flaky') && !r.text.includes('secret-text'), r.text);
    } finally {
      await server.close();
    }
  });

  it('stays ready while another backend still serves the type', async () => {
    const server = await start([
      scriptedBackend('flaky', () => Promise.reject(new Error('down'))),
      scriptedBackend('spare', () =>
        Promise.resolve(oauthCredential('spare', new Date(Date.now() + 60_000))),
      ),
    ]);
    try {
      for (let i = 0; i < 3; i++) {
        const credential = await server.resolver.resolve(
          'oauth',
          TARGET,
          acFor(TARGET, Date.now()),
        );
        await server.resolver.discard(credential);
      }
      assert.deepEqual(
        server.backendHealth().map((b) => [b.id, b.state]),
        [
          ['flaky', 'open'],
          ['spare', 'closed'],
          ['bascule', 'closed'],
        ],
      );
      const r = await readyz(server.url);
      assert.equal(r.status, 200, r.text);
      assert.equal((JSON.parse(r.text) as { checks: { backends: string } }).checks.backends, 'ok');
    } finally {
      await server.close();
    }
  });
});
