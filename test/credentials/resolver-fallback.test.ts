/** Fallback in registration order: every capable backend is tried until one issues. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { BastionError } from '../../src/base/errors.js';
import {
  BackendReasons,
  CredentialResolutionError,
  NoBackendAvailable,
} from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import type { Credential, OAuthCredential } from '../../src/credentials/types.js';
import { TARGET, acFor, never, oauthCredential, scriptedBackend } from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const good = (id: string): Credential => oauthCredential(id, new Date(T0 + 60_000));

function setup(timeoutMs = 10_000) {
  const log = capturedLogger();
  const resolver = new CredentialResolver({
    clock: new ManualClock(T0),
    logger: log.logger,
    timeoutMs,
  });
  return { resolver, log, ac: acFor(TARGET, T0) };
}

describe('CredentialResolver fallback', () => {
  const firstFailures: { name: string; first: () => unknown; reason: string }[] = [
    {
      name: 'throws an Error',
      first: () => Promise.reject(new Error('down')),
      reason: 'backend_error',
    },
    {
      name: 'throws synchronously',
      first: () => {
        throw new TypeError('bug');
      },
      reason: 'backend_error',
    },
    {
      name: 'throws a CredentialResolutionError',
      first: () => Promise.reject(new CredentialResolutionError(BackendReasons.denied)),
      reason: 'backend_denied',
    },
    {
      name: 'returns an expired credential',
      first: () => Promise.resolve(oauthCredential('a', new Date(T0 - 1))),
      reason: 'expired',
    },
    {
      name: 'returns the wrong target',
      first: () =>
        Promise.resolve(oauthCredential('a', new Date(T0 + 60_000), { target: 'evil.test' })),
      reason: 'target_mismatch',
    },
    {
      name: 'returns the wrong type',
      first: () =>
        Promise.resolve({ ...oauthCredential('a', new Date(T0 + 60_000)), type: 'kerberos' }),
      reason: 'type_mismatch',
    },
    {
      name: 'claims another issuer',
      first: () => Promise.resolve(oauthCredential('b', new Date(T0 + 60_000))),
      reason: 'issuer_mismatch',
    },
    {
      name: 'returns a token outside a Secret',
      first: () =>
        Promise.resolve(oauthCredential('a', new Date(T0 + 60_000), { accessToken: 'plain' })),
      reason: 'malformed_credential',
    },
    {
      name: 'returns nothing',
      first: () => Promise.resolve(undefined),
      reason: 'malformed_credential',
    },
  ];

  for (const { name, first, reason } of firstFailures) {
    it(`first backend ${name} → the second one's credential`, async () => {
      const { resolver, log, ac } = setup();
      const a = scriptedBackend('a', first);
      const b = scriptedBackend('b', () => Promise.resolve(good('b')));
      resolver.register(a);
      resolver.register(b);
      const got = await resolver.resolve('oauth', TARGET, ac);
      assert.equal(got.issuedBy, 'b');
      assert.equal(a.calls.length, 1);
      assert.equal(b.calls.length, 1);
      const warn = log.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['backend'] === 'a');
      assert.equal(warn?.['reason'], reason);
    });
  }

  it('first backend hangs forever → timed out, aborted, and the second one answers', async () => {
    const { resolver, ac } = setup(50);
    const a = scriptedBackend('a', never);
    resolver.register(a);
    resolver.register(scriptedBackend('b', () => Promise.resolve(good('b'))));
    const got = await resolver.resolve('oauth', TARGET, ac);
    assert.equal(got.issuedBy, 'b');
    assert.equal(a.calls[0]?.signal?.aborted, true, 'the hung backend was told to stop');
  });

  it('a per-backend timeout overrides the default', async () => {
    const { resolver, ac } = setup(60_000);
    resolver.register(scriptedBackend('a', never, { timeoutMs: 30 }));
    resolver.register(scriptedBackend('b', () => Promise.resolve(good('b'))));
    assert.equal((await resolver.resolve('oauth', TARGET, ac)).issuedBy, 'b');
  });

  // `timeout` guards against a hang were the late credential never wiped; nothing is timed.
  it(
    'a credential that arrives after its timeout is revoked and wiped, not leaked',
    {
      timeout: 20_000,
    },
    async () => {
      const { resolver, ac } = setup(30);
      const late = good('a') as OAuthCredential;
      // Wiping is the last step: the test awaits it, through the Secret's own dispose.
      const dispose = late.accessToken.dispose.bind(late.accessToken);
      const wiped = new Promise<void>((resolve) => {
        late.accessToken.dispose = () => {
          dispose();
          resolve();
        };
      });
      let arrive: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const a = scriptedBackend('a', () => arrived.then(() => late));
      resolver.register(a);
      resolver.register(scriptedBackend('b', () => Promise.resolve(good('b'))));
      assert.equal((await resolver.resolve('oauth', TARGET, ac)).issuedBy, 'b');
      assert.deepEqual(a.revoked, [], 'nothing had arrived to revoke');
      arrive();
      await wiped;
      assert.deepEqual(a.revoked, [late]);
      assert.equal(late.accessToken.disposed, true);
    },
  );

  it('returns the first success in registration order and asks no further', async () => {
    const { resolver, ac } = setup();
    const a = scriptedBackend('a', () => Promise.resolve(good('a')));
    const b = scriptedBackend('b', () => Promise.resolve(good('b')));
    resolver.register(a);
    resolver.register(b);
    assert.equal((await resolver.resolve('oauth', TARGET, ac)).issuedBy, 'a');
    assert.equal(b.calls.length, 0);
  });

  it('skips backends that do not support the type', async () => {
    const { resolver, ac } = setup();
    const k = scriptedBackend('k', () => Promise.resolve(good('k')), { types: ['kerberos'] });
    resolver.register(k);
    resolver.register(scriptedBackend('b', () => Promise.resolve(good('b'))));
    assert.equal((await resolver.resolve('oauth', TARGET, ac)).issuedBy, 'b');
    assert.equal(k.calls.length, 0);
  });

  it('all fail → one CredentialResolutionError naming each backend and its reason', async () => {
    const { resolver, ac } = setup(30);
    resolver.register(scriptedBackend('a', () => Promise.reject(new Error('x'))));
    resolver.register(scriptedBackend('b', never));
    resolver.register(
      scriptedBackend('c', () => Promise.resolve(oauthCredential('c', new Date(T0)))),
    );
    await assert.rejects(resolver.resolve('oauth', TARGET, ac), (err: unknown) => {
      assert.ok(err instanceof CredentialResolutionError);
      assert.equal(err.code, 'credential_resolution_failed');
      assert.equal(err.status, 502);
      assert.deepEqual(err.attempts, [
        { backend: 'a', reason: 'backend_error' },
        { backend: 'b', reason: 'timeout' },
        { backend: 'c', reason: 'expired' },
      ]);
      assert.match(err.message, /a \(backend_error\), b \(timeout\), c \(expired\)/);
      return true;
    });
  });

  it("names a backend's own catalog code beside its reason, by the code's status, never an unknown error's text", async () => {
    const { resolver, ac } = setup(30);
    const raise =
      (
        code:
          | 'kerberos_spn_not_delegated'
          | 'kerberos_kdc_unreachable'
          | 'kerberos_clock_skew'
          | 'winrm_operation_ambiguous',
      ) =>
      () =>
        Promise.reject(new BastionError(code));
    resolver.register(scriptedBackend('denies', raise('kerberos_spn_not_delegated')));
    resolver.register(scriptedBackend('away', raise('kerberos_kdc_unreachable')));
    resolver.register(scriptedBackend('skewed', raise('kerberos_clock_skew')));
    resolver.register(scriptedBackend('asked', raise('winrm_operation_ambiguous')));
    resolver.register(scriptedBackend('plain', () => Promise.reject(new Error('secret text'))));
    await assert.rejects(resolver.resolve('oauth', TARGET, ac), (err: unknown) => {
      assert.ok(err instanceof CredentialResolutionError);
      assert.deepEqual(err.attempts, [
        { backend: 'denies', reason: 'backend_denied', code: 'kerberos_spn_not_delegated' },
        { backend: 'away', reason: 'backend_unavailable', code: 'kerberos_kdc_unreachable' },
        { backend: 'skewed', reason: 'backend_error', code: 'kerberos_clock_skew' },
        {
          backend: 'asked',
          reason: 'invalid_credential_request',
          code: 'winrm_operation_ambiguous',
        },
        { backend: 'plain', reason: 'backend_error' },
      ]);
      assert.match(err.message, /denies \(backend_denied: kerberos_spn_not_delegated\)/);
      assert.doesNotMatch(err.message, /secret text/);
      return true;
    });
  });

  it('no capable backend → NoBackendAvailable', async () => {
    const { resolver, ac } = setup();
    resolver.register(
      scriptedBackend('k', () => Promise.resolve(good('k')), { types: ['kerberos'] }),
    );
    await assert.rejects(resolver.resolve('oauth', TARGET, ac), (err: unknown) => {
      assert.ok(err instanceof NoBackendAvailable);
      assert.equal(err.code, 'no_backend_available');
      assert.equal(err.credentialType, 'oauth');
      return true;
    });
    await assert.rejects(
      new CredentialResolver({ clock: new ManualClock(T0) }).resolve('oauth', TARGET, ac),
      NoBackendAvailable,
    );
  });

  it('a caller abort stops the resolution without trying further backends', async () => {
    const { resolver, ac } = setup();
    let asked: () => void = () => undefined;
    const called = new Promise<void>((resolve) => (asked = resolve));
    const a = scriptedBackend('a', () => {
      asked();
      return never();
    });
    const b = scriptedBackend('b', () => Promise.resolve(good('b')));
    resolver.register(a);
    resolver.register(b);
    const controller = new AbortController();
    const pending = resolver.resolve('oauth', TARGET, ac, { signal: controller.signal });
    // Aborted while the first backend is working on it.
    await called;
    controller.abort();
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof CredentialResolutionError);
      assert.deepEqual(err.attempts, [{ backend: 'a', reason: 'aborted' }]);
      return true;
    });
    assert.equal(a.calls[0]?.signal?.aborted, true);
    assert.equal(b.calls.length, 0);
  });

  it('refuses to register a bad or duplicate backend', () => {
    const { resolver } = setup();
    resolver.register(scriptedBackend('a', never));
    assert.throws(() => resolver.register(scriptedBackend('a', never)), /already registered/);
    assert.throws(() => resolver.register(scriptedBackend('Bad Id!', never)), /backend id/);
    assert.throws(
      () => resolver.register(scriptedBackend('x', never, { types: ['password' as 'oauth'] })),
      /supportedTypes/,
    );
    assert.deepEqual(resolver.backendIds, ['a']);
  });
});
