/**
 * Strangers cost the broker nothing durable: a key that no accord and no admin list names
 * is refused before any write (no replay-cache row, no audit row), counted instead; failed
 * authentications are limited per client address before any proof is verified; and a full
 * per-principal table never refuses a new key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/base/clock.js';
import { BrokerError } from '../../src/client/client.js';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { RateLimitedError, RateLimiter } from '../../src/server/rate-limit.js';
import { RefusalCounter } from '../../src/server/refusals.js';
import { capturedLogger } from '../helpers/logs.js';

const alice = generatePrincipalKey();

async function broker(authFailures: number): Promise<{ server: RunningServer; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-anon-'));
  const yaml = `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: silent
limits: { rate_per_minute: 1000, auth_failures_per_minute: ${authFailures} }
accords:
  - id: ops
    principals: [${alice.did}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*.internal.test"]
    capabilities: [read]
    max_duration: 15m
`;
  const server = await startServer({ config: parseConfig(yaml, join(dataDir, 'b.yaml')) });
  return { server, dataDir };
}

const body = {
  accord: 'ops',
  connector: 'ssh',
  target: 'db1.internal.test',
  capabilities: ['read'],
  duration_seconds: 60,
};

/** Rows written so far: the replay cache and the audit trail, read from the database file. */
function rows(dataDir: string): { proofs: number; audit: number } {
  const db = new Database(join(dataDir, 'bastion.db'), { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { proofs: count('proof_jtis'), audit: count('audit') };
  } finally {
    db.close();
  }
}

describe('a key no accord names', () => {
  let b: { server: RunningServer; dataDir: string };
  before(async () => {
    b = await broker(1000);
  });
  after(() => b.server.close());

  it('is refused before any durable write, and counted instead', async () => {
    // A known principal's refusal is audited (and its proof remembered): the control.
    await assert.rejects(
      new BastionClient({ url: b.server.url, key: alice }).authorize({ ...body, accord: 'nope' }),
      (e: unknown) => e instanceof BrokerError && e.code === 'unknown_accord',
    );
    const start = rows(b.dataDir);
    assert.ok(start.audit >= 1 && start.proofs >= 1, 'the control wrote its rows');
    for (let i = 0; i < 20; i++) {
      const stranger = new BastionClient({ url: b.server.url, key: generatePrincipalKey() });
      await assert.rejects(
        stranger.authorize(body),
        (e: unknown) =>
          e instanceof BrokerError && e.status === 403 && e.code === 'principal_unknown',
      );
    }
    assert.deepEqual(rows(b.dataDir), start, 'twenty strangers wrote nothing');
    assert.equal(b.server.refusals.unknown_principal, 20);
  });
});

describe('failed authentications per client address', () => {
  let b: { server: RunningServer; dataDir: string };
  before(async () => {
    b = await broker(5);
  });
  after(() => b.server.close());

  it('are cut off past the limit, before any proof is verified, with Retry-After', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${b.server.url}/governance/accords`, { headers: { dpop: 'x.y.z' } });
      assert.equal(res.status, 401);
    }
    // Now even a well-formed request of a known principal from this address waits.
    await assert.rejects(
      new BastionClient({ url: b.server.url, key: alice }).accords(),
      (e: unknown) => e instanceof BrokerError && e.status === 429 && e.code === 'rate_limited',
    );
    const res = await fetch(`${b.server.url}/governance/accords`, { headers: { dpop: 'x.y.z' } });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal(b.server.refusals.authentication_failed, 5);
    assert.equal(b.server.refusals.address_limited, 2);
  });
});

describe('RateLimiter', () => {
  it('forgets the oldest window when full, rather than refusing a new key', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(2, clock, 3);
    for (const key of ['a', 'b', 'c']) limiter.hit(key);
    limiter.hit('a');
    assert.throws(() => limiter.hit('a'), RateLimitedError, 'a is over its limit');
    // The table is full of live windows: a new key is still counted, the oldest forgotten.
    limiter.hit('d');
    limiter.hit('d');
    assert.throws(() => limiter.hit('d'), RateLimitedError, 'd is limited like any key');
    limiter.hit('a');
    clock.advance(60_000);
    limiter.hit('b');
  });

  it('counts without refusing (note) and refuses without counting (check)', () => {
    const limiter = new RateLimiter(1, new ManualClock(0));
    limiter.check('x');
    limiter.check('x');
    limiter.note('x');
    assert.throws(() => limiter.check('x'), RateLimitedError, 'one of one used');
    assert.throws(() => limiter.hit('x'), RateLimitedError);
  });
});

describe('RefusalCounter', () => {
  it('logs one aggregated line per window, and nothing for an empty one', () => {
    const { logger, lines } = capturedLogger();
    const counter = new RefusalCounter(logger);
    try {
      for (let i = 0; i < 50; i++) counter.note('unknown_principal');
      counter.note('authentication_failed');
      counter.flush();
      counter.flush();
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0] ?? '{}') as { refused: Record<string, number> };
      assert.deepEqual(line.refused, { unknown_principal: 50, authentication_failed: 1 });
      assert.equal(counter.totals.unknown_principal, 50);
    } finally {
      counter.close();
    }
  });
});
