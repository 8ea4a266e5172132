/** Revocation goes to the issuing backend, once, and never throws. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import type { Credential } from '../../src/credentials/types.js';
import { TARGET, acFor, never, oauthCredential, scriptedBackend } from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const good = (id: string): Credential => oauthCredential(id, new Date(T0 + 60_000));

describe('CredentialResolver.revoke', () => {
  it('reaches the backend named by issuedBy even when an earlier one supports the type', async () => {
    const resolver = new CredentialResolver({ clock: new ManualClock(T0) });
    const a = scriptedBackend('a', () => Promise.reject(new Error('down')));
    const b = scriptedBackend('b', () => Promise.resolve(good('b')));
    resolver.register(a);
    resolver.register(b);
    const cred = await resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
    await resolver.revoke(cred);
    assert.equal(a.revoked.length, 0);
    assert.deepEqual(b.revoked, [cred]);
  });

  it('is idempotent', async () => {
    const resolver = new CredentialResolver({ clock: new ManualClock(T0) });
    const b = scriptedBackend('b', () => Promise.resolve(good('b')));
    resolver.register(b);
    const cred = await resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
    await resolver.revoke(cred);
    await resolver.revoke(cred);
    await resolver.discard(cred);
    assert.equal(b.revoked.length, 1);
  });

  const failures: { name: string; revoke: () => unknown; reason: string }[] = [
    {
      name: 'rejects',
      revoke: () => Promise.reject(new Error('revoke failed')),
      reason: 'backend_error',
    },
    {
      name: 'throws synchronously',
      revoke: () => {
        throw new Error('sync');
      },
      reason: 'backend_error',
    },
    { name: 'hangs', revoke: never, reason: 'timeout' },
  ];
  for (const { name, revoke, reason } of failures) {
    it(`swallows and logs a backend revoke that ${name}`, async () => {
      const log = capturedLogger();
      const resolver = new CredentialResolver({
        clock: new ManualClock(T0),
        logger: log.logger,
        timeoutMs: 30,
      });
      resolver.register(scriptedBackend('b', () => Promise.resolve(good('b')), { revoke }));
      const cred = await resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
      await resolver.discard(cred);
      assert.equal(cred.accessToken.disposed, true, 'wiped even though revoke failed');
      const entry = log.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['msg'] === 'credential revoke failed');
      assert.ok(entry, 'logged');
      assert.equal(entry['backend'], 'b');
      assert.equal(entry['reason'], reason);
      assert.equal(entry['level'], 40);
    });
  }

  it('logs and returns for a credential no registered backend issued', async () => {
    const log = capturedLogger();
    const resolver = new CredentialResolver({ logger: log.logger });
    const a = scriptedBackend('a', never);
    resolver.register(a);
    await resolver.revoke(good('gone'));
    assert.equal(a.revoked.length, 0);
    assert.match(log.text(), /no registered backend issued this credential/);
  });
});
