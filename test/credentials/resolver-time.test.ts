/**
 * The resolver's time rules at their exact boundaries, on an injected clock
 * (maxTtl 5 min, skew 30 s, minimum window 5 s by default).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { ConfigError } from '../../src/base/errors.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import {
  AcExpiredError,
  CredentialResolver,
  ScopeMismatchError,
  UnsupportedCredentialTypeError,
} from '../../src/credentials/resolver.js';
import type { OAuthCredential } from '../../src/credentials/types.js';
import { TARGET, acFor, oauthCredential, scriptedBackend } from '../helpers/backends.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;
const MAX_TTL = 5 * MIN;
const SKEW = 30 * SEC;
const MIN_WINDOW = 5 * SEC;

interface Row {
  name: string;
  expiresAt: unknown;
  notBefore?: unknown;
  clamp?: boolean;
  /** A reason code when refused; otherwise the expected usable expiry (ms). */
  want: string | { expiresAt: number; mustRevoke: boolean };
}

const rows: Row[] = [
  { name: 'expiresAt missing', expiresAt: undefined, want: 'missing_expires_at' },
  { name: 'expiresAt null', expiresAt: null, want: 'missing_expires_at' },
  { name: 'expiresAt invalid date', expiresAt: new Date(NaN), want: 'invalid_expires_at' },
  {
    name: 'expiresAt not a Date',
    expiresAt: new Date(T0 + MIN).toISOString(),
    want: 'invalid_expires_at',
  },
  { name: 'expiresAt a number', expiresAt: T0 + MIN, want: 'invalid_expires_at' },
  { name: 'expired an hour ago', expiresAt: new Date(T0 - 60 * MIN), want: 'expired' },
  { name: 'expired a millisecond ago', expiresAt: new Date(T0 - 1), want: 'expired' },
  { name: 'expiring exactly now', expiresAt: new Date(T0), want: 'expired' },
  {
    name: 'within the minimum window (1 ms)',
    expiresAt: new Date(T0 + 1),
    want: 'below_min_window',
  },
  {
    name: 'minimum window less 1 ms',
    expiresAt: new Date(T0 + MIN_WINDOW - 1),
    want: 'below_min_window',
  },
  {
    name: 'exactly the minimum window',
    expiresAt: new Date(T0 + MIN_WINDOW),
    want: { expiresAt: T0 + MIN_WINDOW, mustRevoke: false },
  },
  {
    name: 'exactly now + maxTtl',
    expiresAt: new Date(T0 + MAX_TTL),
    want: { expiresAt: T0 + MAX_TTL, mustRevoke: false },
  },
  {
    name: 'exactly now + maxTtl + skew',
    expiresAt: new Date(T0 + MAX_TTL + SKEW),
    want: { expiresAt: T0 + MAX_TTL + SKEW, mustRevoke: false },
  },
  {
    name: 'one millisecond beyond maxTtl + skew',
    expiresAt: new Date(T0 + MAX_TTL + SKEW + 1),
    want: 'exceeds_max_ttl',
  },
  {
    name: 'one second beyond maxTtl + skew',
    expiresAt: new Date(T0 + MAX_TTL + SKEW + SEC),
    want: 'exceeds_max_ttl',
  },
  { name: 'an hour', expiresAt: new Date(T0 + 60 * MIN), want: 'exceeds_max_ttl' },
  {
    name: 'notBefore exactly now + skew',
    expiresAt: new Date(T0 + MIN),
    notBefore: new Date(T0 + SKEW),
    want: { expiresAt: T0 + MIN, mustRevoke: false },
  },
  {
    name: 'notBefore one ms beyond skew',
    expiresAt: new Date(T0 + MIN),
    notBefore: new Date(T0 + SKEW + 1),
    want: 'not_yet_valid',
  },
  {
    name: 'notBefore invalid',
    expiresAt: new Date(T0 + MIN),
    notBefore: new Date(NaN),
    want: 'invalid_not_before',
  },
  // A backend whose issuer cannot shorten lifetimes: clamp to maxTtl and must-revoke.
  {
    name: 'clamp: an hour',
    clamp: true,
    expiresAt: new Date(T0 + 60 * MIN),
    want: { expiresAt: T0 + MAX_TTL, mustRevoke: true },
  },
  {
    name: 'clamp: one second beyond maxTtl + skew',
    clamp: true,
    expiresAt: new Date(T0 + MAX_TTL + SKEW + SEC),
    want: { expiresAt: T0 + MAX_TTL, mustRevoke: true },
  },
  {
    name: 'clamp: one ms beyond maxTtl',
    clamp: true,
    expiresAt: new Date(T0 + MAX_TTL + 1),
    want: { expiresAt: T0 + MAX_TTL, mustRevoke: true },
  },
  {
    name: 'clamp: exactly maxTtl is left alone',
    clamp: true,
    expiresAt: new Date(T0 + MAX_TTL),
    want: { expiresAt: T0 + MAX_TTL, mustRevoke: false },
  },
  { name: 'clamp: still refuses expired', clamp: true, expiresAt: new Date(T0), want: 'expired' },
  {
    name: 'clamp: still refuses below the minimum window',
    clamp: true,
    expiresAt: new Date(T0 + MIN_WINDOW - 1),
    want: 'below_min_window',
  },
  {
    name: 'clamp: still refuses missing expiry',
    clamp: true,
    expiresAt: undefined,
    want: 'missing_expires_at',
  },
];

describe('CredentialResolver time rules', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const clock = new ManualClock(T0);
      const resolver = new CredentialResolver({ clock });
      const extra = row.notBefore !== undefined ? { notBefore: row.notBefore } : {};
      const issued = oauthCredential('b', row.expiresAt as Date, extra);
      const backend = scriptedBackend('b', () => Promise.resolve(issued), {
        issuerCannotShortenLifetime: row.clamp === true,
      });
      resolver.register(backend);
      const pending = resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
      if (typeof row.want === 'string') {
        await assert.rejects(pending, (err: unknown) => {
          assert.ok(err instanceof CredentialResolutionError);
          assert.deepEqual(err.attempts, [{ backend: 'b', reason: row.want }]);
          return true;
        });
        // A refused credential is revoked at its issuer and wiped, never dropped as is.
        assert.equal(backend.revoked.length, 1);
        assert.equal((issued as OAuthCredential).accessToken.disposed, true);
      } else {
        const got = await pending;
        assert.equal(got.expiresAt.getTime(), row.want.expiresAt);
        assert.equal(got.mustRevoke === true, row.want.mustRevoke);
        if (row.want.mustRevoke) {
          assert.equal(got.issuerExpiresAt?.getTime(), (row.expiresAt as Date).getTime());
        }
        assert.equal(got.accessToken.disposed, false);
        assert.equal(backend.revoked.length, 0);
      }
    });
  }

  it('a backend cannot move the expiry after the check', async () => {
    const clock = new ManualClock(T0);
    const resolver = new CredentialResolver({ clock });
    const expiresAt = new Date(T0 + MIN);
    resolver.register(scriptedBackend('b', () => Promise.resolve(oauthCredential('b', expiresAt))));
    const got = await resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
    expiresAt.setTime(T0 + 24 * 60 * MIN);
    assert.equal(got.expiresAt.getTime(), T0 + MIN);
    assert.ok(Object.isFrozen(got));
  });

  it('honours a lowered maxTtl at its boundary', async () => {
    const clock = new ManualClock(T0);
    const resolver = new CredentialResolver({ clock, maxTtlMs: MIN, skewMs: 0 });
    resolver.register(
      scriptedBackend('b', (_t, _g, ac) =>
        Promise.resolve(oauthCredential('b', new Date(T0 + (ac.ac_id === 'ok' ? MIN : MIN + 1)))),
      ),
    );
    const ok = await resolver.resolve('oauth', TARGET, acFor(TARGET, T0, { ac_id: 'ok' }));
    assert.equal(ok.expiresAt.getTime(), T0 + MIN);
    await assert.rejects(
      resolver.resolve('oauth', TARGET, acFor(TARGET, T0, { ac_id: 'over' })),
      /exceeds_max_ttl/,
    );
  });

  it('refuses a maxTtl above 15 minutes and other out-of-range settings', () => {
    assert.equal(new CredentialResolver({ maxTtlMs: 15 * MIN }).maxTtlMs, 15 * MIN);
    for (const options of [
      { maxTtlMs: 15 * MIN + 1 },
      { maxTtlMs: 0 },
      { maxTtlMs: Number.NaN },
      { minWindowMs: -1 },
      { maxTtlMs: MIN, minWindowMs: MIN },
      { skewMs: -1 },
      { skewMs: 10 * MIN },
      { timeoutMs: 0 },
    ]) {
      assert.throws(() => new CredentialResolver(options), ConfigError, JSON.stringify(options));
    }
    const r = new CredentialResolver();
    assert.deepEqual([r.maxTtlMs, r.minWindowMs, r.skewMs], [MAX_TTL, MIN_WINDOW, SKEW]);
  });

  it('refuses an AC that has expired, exactly at its expiry', async () => {
    const clock = new ManualClock(T0);
    const resolver = new CredentialResolver({ clock });
    const backend = scriptedBackend('b', () =>
      Promise.resolve(oauthCredential('b', new Date(T0 + MIN))),
    );
    resolver.register(backend);
    const ac = acFor(TARGET, T0, { expires_at: T0 / 1000 });
    await assert.rejects(resolver.resolve('oauth', TARGET, ac), AcExpiredError);
    clock.set(T0 - 1);
    await resolver.resolve('oauth', TARGET, ac);
    assert.equal(backend.calls.length, 1);
  });

  it('refuses a target the AC does not name, before any backend is asked', async () => {
    const resolver = new CredentialResolver({ clock: new ManualClock(T0) });
    const backend = scriptedBackend('b', () =>
      Promise.resolve(oauthCredential('b', new Date(T0 + MIN))),
    );
    resolver.register(backend);
    await assert.rejects(
      resolver.resolve('oauth', TARGET, acFor('other.internal.test', T0)),
      (e: unknown) => e instanceof ScopeMismatchError && e.status === 403,
    );
    assert.equal(backend.calls.length, 0);
  });

  it('refuses an unknown credential type without echoing it', async () => {
    const resolver = new CredentialResolver({ clock: new ManualClock(T0) });
    await assert.rejects(
      resolver.resolve('password<script>' as 'oauth', TARGET, acFor(TARGET, T0)),
      (e: unknown) => e instanceof UnsupportedCredentialTypeError && !e.message.includes('script'),
    );
  });
});
