/**
 * `GET /health/backends` over real HTTP: a broker admin reads each backend's health, the
 * same view `RunningServer.backendHealth()` gives; any other key the policy names is
 * refused with `admin_required` (403), a request without a proof with `dpop_missing`; the
 * route and its reply schema are in /openapi.json.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

describe('GET /health/backends', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(() => broker.close());

  it('gives a broker admin every backend, in resolution order, as the server sees it', async () => {
    const { backends } = await broker.client(broker.keys.admin).backendHealth();
    assert.deepEqual(
      backends.map((b) => [b.id, b.state]),
      [
        ['dev', 'closed'],
        ['bascule', 'closed'],
      ],
    );
    assert.deepEqual(backends, broker.server.backendHealth());
    assert.deepEqual(backends[0]?.failover, { failures: 3, open_seconds: 30 });
  });

  it('refuses anyone else with admin_required, and a request without a proof', async () => {
    for (const key of [broker.keys.alice, broker.keys.bob]) {
      await assert.rejects(broker.client(key).backendHealth(), (err: unknown) => {
        assert.ok(err instanceof BrokerError);
        assert.equal(err.status, 403);
        assert.equal(err.code, 'admin_required');
        return true;
      });
    }
    const bare = await fetch(`${broker.url}/health/backends`);
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { error: { code: string } }).error.code, 'dpop_missing');
  });

  it('is in the OpenAPI document with its reply schema', async () => {
    const doc = (await (await fetch(`${broker.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const route = doc.paths['/health/backends']?.['get'];
    assert.ok(route !== undefined);
    const ok = JSON.stringify(route.responses['200']);
    for (const field of ['consecutive_failures', 'half_open', 'last_failure_reason', 'p95']) {
      assert.ok(ok.includes(field), field);
    }
    assert.ok(route.responses['403'] !== undefined);
  });
});
