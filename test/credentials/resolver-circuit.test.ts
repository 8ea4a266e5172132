/**
 * The resolver's circuit breakers: a backend that fails `failures` times in a row is
 * skipped, uncalled, as `backend_unavailable` until its open period has passed on the
 * resolver's clock; then one probe decides. What counts as a failure (errors, timeouts,
 * refused credentials) and what does not (a backend's own refusal, a caller who went
 * away), and the health each backend reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { ConfigError } from '../../src/base/errors.js';
import {
  BackendReasons,
  CredentialResolutionError,
  RejectReasons,
} from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import type { Credential } from '../../src/credentials/types.js';
import {
  type Behaviour,
  TARGET,
  acFor,
  never,
  oauthCredential,
  scriptedBackend,
} from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const OPEN_MS = 30_000;
const FAILURES = 3;

function setup(first: Behaviour, options: { timeoutMs?: number } = {}) {
  const clock = new ManualClock(T0);
  const log = capturedLogger();
  const resolver = new CredentialResolver({
    clock,
    logger: log.logger,
    failover: { failures: FAILURES, openMs: OPEN_MS },
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const a = scriptedBackend('a', first);
  const b = scriptedBackend('b', () => Promise.resolve(good('b', clock)));
  resolver.register(a);
  resolver.register(b);
  const resolve = (signal?: AbortSignal) =>
    resolver.resolve('oauth', TARGET, acFor(TARGET, clock.now()), signal ? { signal } : {});
  const healthOf = (id: string) => resolver.health().find((h) => h.id === id);
  return { clock, log, resolver, a, b, resolve, healthOf };
}

function good(id: string, clock: ManualClock): Credential {
  return oauthCredential(id, new Date(clock.now() + 60_000));
}

const down = () => Promise.reject(new Error('connect ECONNREFUSED secret-host:443'));

/** Resolves `n` times; each must be issued by `b`. */
async function viaSecond(resolve: () => Promise<Credential>, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) assert.equal((await resolve()).issuedBy, 'b');
}

describe('CredentialResolver circuit breakers', () => {
  it('opens after the configured failures in a row, then skips the backend without calling it', async () => {
    const { a, resolve, healthOf, resolver } = setup(down);
    await viaSecond(resolve, FAILURES);
    assert.equal(a.calls.length, FAILURES);
    assert.equal(healthOf('a')?.state, 'open');

    await viaSecond(resolve, 10);
    assert.equal(a.calls.length, FAILURES, 'not called while open');

    // Every backend open: fail fast, nothing called, each attempt backend_unavailable.
    const onlyA = new CredentialResolver({ failover: { failures: 1, openMs: OPEN_MS } });
    const dead = scriptedBackend('dead', down);
    onlyA.register(dead);
    const ac = acFor(TARGET, Date.now());
    await assert.rejects(onlyA.resolve('oauth', TARGET, ac), CredentialResolutionError);
    await assert.rejects(onlyA.resolve('oauth', TARGET, ac), (err: unknown) => {
      assert.ok(err instanceof CredentialResolutionError);
      assert.equal(err.code, 'credential_resolution_failed');
      assert.deepEqual(err.attempts, [{ backend: 'dead', reason: BackendReasons.unavailable }]);
      return true;
    });
    assert.equal(dead.calls.length, 1, 'the open circuit was not called');
    assert.equal(resolver.health().length, 2);
  });

  it('lists a skipped backend as backend_unavailable among the attempts', async () => {
    const clock = new ManualClock(T0);
    const resolver = new CredentialResolver({ clock, failover: { failures: 1, openMs: OPEN_MS } });
    const a = scriptedBackend('a', down);
    const b = scriptedBackend('b', () => Promise.reject(new Error('also down')));
    resolver.register(a);
    resolver.register(b);
    const ac = acFor(TARGET, T0);
    await assert.rejects(resolver.resolve('oauth', TARGET, ac), (err: unknown) => {
      assert.deepEqual((err as CredentialResolutionError).attempts, [
        { backend: 'a', reason: 'backend_error' },
        { backend: 'b', reason: 'backend_error' },
      ]);
      return true;
    });
    await assert.rejects(resolver.resolve('oauth', TARGET, ac), (err: unknown) => {
      assert.deepEqual((err as CredentialResolutionError).attempts, [
        { backend: 'a', reason: 'backend_unavailable' },
        { backend: 'b', reason: 'backend_unavailable' },
      ]);
      return true;
    });
    assert.equal(a.calls.length + b.calls.length, 2);
  });

  it('probes once after the open period on its clock, and closes when the backend answers', async () => {
    let alive = false;
    const { a, resolve, healthOf, clock } = setup(() =>
      alive ? Promise.resolve(good('a', clock)) : down(),
    );
    await viaSecond(resolve, FAILURES);
    clock.advance(OPEN_MS - 1);
    await viaSecond(resolve, 1);
    assert.equal(a.calls.length, FAILURES, 'still open a millisecond before the period ends');

    // The probe fails: open for another period.
    clock.advance(1);
    await viaSecond(resolve, 1);
    assert.equal(a.calls.length, FAILURES + 1, 'one probe');
    assert.equal(healthOf('a')?.state, 'open');
    await viaSecond(resolve, 3);
    assert.equal(a.calls.length, FAILURES + 1, 'not called again before the next period ends');

    alive = true;
    clock.advance(OPEN_MS);
    assert.equal((await resolve()).issuedBy, 'a');
    assert.equal(healthOf('a')?.state, 'closed');
    assert.equal(healthOf('a')?.consecutive_failures, 0);
    assert.equal((await resolve()).issuedBy, 'a');
  });

  it('lets one probe through while the others skip the backend instead of waiting on it', async () => {
    let release: (c: Credential) => void = () => undefined;
    let probing = false;
    const { a, resolve, healthOf, clock } = setup(() =>
      probing ? new Promise<Credential>((r) => (release = r)) : down(),
    );
    await viaSecond(resolve, FAILURES);
    clock.advance(OPEN_MS);
    probing = true;
    const probe = resolve();
    assert.equal(healthOf('a')?.state, 'half_open');
    await viaSecond(resolve, 3);
    assert.equal(a.calls.length, FAILURES + 1, 'only the probe reached the backend');
    release(good('a', clock));
    assert.equal((await probe).issuedBy, 'a');
    assert.equal(healthOf('a')?.state, 'closed');
  });

  it('counts a credential the resolver refuses, and a timeout, as failures', async () => {
    const refused = setup(() => Promise.resolve(oauthCredential('a', new Date(T0 - 1))));
    await viaSecond(refused.resolve, FAILURES + 2);
    assert.equal(refused.a.calls.length, FAILURES);
    assert.equal(refused.healthOf('a')?.last_failure_reason, RejectReasons.expired);
    assert.equal(refused.a.revoked.length, FAILURES, 'each refused credential still revoked');

    const slow = setup(never, { timeoutMs: 5 });
    await viaSecond(slow.resolve, FAILURES + 2);
    assert.equal(slow.a.calls.length, FAILURES);
    assert.equal(slow.healthOf('a')?.last_failure_reason, RejectReasons.timeout);
  });

  it('does not count a backend that answers without issuing: it is up', async () => {
    for (const reason of [
      BackendReasons.denied,
      BackendReasons.invalidRequest,
      BackendReasons.unsupportedTarget,
    ]) {
      const { a, resolve, healthOf } = setup(() =>
        Promise.reject(new CredentialResolutionError(reason)),
      );
      await viaSecond(resolve, FAILURES * 2);
      assert.equal(a.calls.length, FAILURES * 2, reason);
      assert.equal(healthOf('a')?.state, 'closed');
      assert.equal(healthOf('a')?.consecutive_failures, 0);
    }
  });

  it('resets the count when the backend answers between failures', async () => {
    let n = 0;
    const { a, resolve, healthOf, clock } = setup(() =>
      ++n % FAILURES === 0 ? Promise.resolve(good('a', clock)) : down(),
    );
    for (let i = 0; i < FAILURES * 4; i += 1) await resolve();
    assert.equal(a.calls.length, FAILURES * 4, 'never opened');
    assert.equal(healthOf('a')?.state, 'closed');
  });

  it('does not count a caller who went away, and a probe cut short leaves the circuit open', async () => {
    const { a, resolve, healthOf } = setup(never);
    for (let i = 0; i < FAILURES + 2; i += 1) {
      const gone = new AbortController();
      const pending = resolve(gone.signal);
      gone.abort();
      await assert.rejects(pending, (err: unknown) => {
        assert.deepEqual((err as CredentialResolutionError).attempts, [
          { backend: 'a', reason: RejectReasons.aborted },
        ]);
        return true;
      });
    }
    assert.equal(a.calls.length, FAILURES + 2, 'called every time: never opened');
    assert.equal(healthOf('a')?.state, 'closed');
    assert.equal(healthOf('a')?.consecutive_failures, 0);
    assert.equal(healthOf('a')?.latency_ms.samples, 0, 'an abandoned call is no measurement');

    // Open it with real failures, then cut its probe short.
    const opened = setup(down);
    await viaSecond(opened.resolve, FAILURES);
    opened.clock.advance(OPEN_MS);
    const gone = new AbortController();
    const probe = opened.resolve(gone.signal);
    assert.equal(opened.healthOf('a')?.state, 'half_open');
    gone.abort();
    await assert.rejects(probe, CredentialResolutionError);
    assert.equal(opened.healthOf('a')?.state, 'open');
    const calls = opened.a.calls.length;
    await viaSecond(opened.resolve, 2);
    assert.equal(opened.a.calls.length, calls, 'still skipped');
  });

  it('reports health: last success and failure, a reason from the vocabulary, latency', async () => {
    let fail = false;
    const { resolve, healthOf, clock } = setup(() =>
      fail ? down() : Promise.resolve(good('a', clock)),
    );
    const fresh = healthOf('a');
    assert.deepEqual(fresh, {
      id: 'a',
      types: ['oauth'],
      state: 'closed',
      consecutive_failures: 0,
      last_success_at: null,
      last_failure_at: null,
      last_failure_reason: null,
      failover: { failures: FAILURES, open_seconds: OPEN_MS / 1000 },
      latency_ms: { last: null, p50: null, p95: null, samples: 0 },
    });
    await resolve();
    clock.advance(1000);
    fail = true;
    await resolve();
    const h = healthOf('a');
    assert.equal(h?.last_success_at, new Date(T0).toISOString());
    assert.equal(h?.last_failure_at, new Date(T0 + 1000).toISOString());
    assert.equal(h?.last_failure_reason, 'backend_error');
    assert.equal(h?.consecutive_failures, 1);
    assert.equal(h?.latency_ms.samples, 2);
    assert.ok((h?.latency_ms.last ?? -1) >= 0);
    // The scan finds the backend's text when it is there (a planted control), and it is not.
    const text = await down().catch((err: unknown) => (err as Error).message);
    assert.ok(JSON.stringify({ ...h, last_failure_reason: text }).includes('secret-host'));
    assert.ok(!JSON.stringify(h).includes('secret-host'), "never the backend's text");
  });

  it('takes a breaker per backend, and refuses settings out of range', () => {
    const resolver = new CredentialResolver({ failover: { failures: 2, openMs: 5000 } });
    resolver.register(scriptedBackend('x', down), { failover: { failures: 7, openMs: 1000 } });
    resolver.register(scriptedBackend('y', down));
    assert.deepEqual(
      resolver.health().map((h) => h.failover),
      [
        { failures: 7, open_seconds: 1 },
        { failures: 2, open_seconds: 5 },
      ],
    );
    for (const failover of [
      { failures: 0, openMs: 1000 },
      { failures: 1.5, openMs: 1000 },
      { failures: 101, openMs: 1000 },
      { failures: 3, openMs: 0 },
      { failures: 3, openMs: 3_600_001 },
      { failures: 3, openMs: Number.NaN },
    ]) {
      assert.throws(
        () => resolver.register(scriptedBackend('z', down), { failover }),
        ConfigError,
        JSON.stringify(failover),
      );
    }
    assert.deepEqual(resolver.backendIds, ['x', 'y'], 'a refused backend is not registered');
  });
});
