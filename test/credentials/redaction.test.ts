/**
 * A backend that leaks: it puts a marker secret into its error messages and into the
 * credentials it issues. The marker must appear in no error message, log line,
 * JSON.stringify or util.inspect output. Each check first shows, on an unredacted
 * control, that it would see the marker if redaction were removed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ManualClock } from '../../src/base/clock.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import { toErrorResponse } from '../../src/base/errors.js';
import { TARGET, acFor, oauthCredential, scriptedBackend } from '../helpers/backends.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';
import { capturedLogger } from '../helpers/logs.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

function errorTexts(err: unknown): string {
  return [
    String(err),
    err instanceof Error ? err.message : '',
    err instanceof Error ? (err.stack ?? '') : '',
    JSON.stringify(err),
    inspect(err, { depth: null, showHidden: true }),
    JSON.stringify(toErrorResponse(err)),
  ].join('\n');
}

describe('no marker secret escapes a leaky backend', () => {
  it('through errors and logs when every backend fails', async () => {
    const marker = newMarker();
    const log = capturedLogger();
    const resolver = new CredentialResolver({ clock: new ManualClock(T0), logger: log.logger });
    const leakyCredential = (id: string) =>
      oauthCredential(id, new Date(T0 - 1), {
        accessToken: Secret.fromString(marker),
        scopedTo: 'read',
      });
    resolver.register(
      scriptedBackend('throws', () => Promise.reject(new Error(`upstream said ${marker}`))),
    );
    resolver.register(
      scriptedBackend('throws-ours', () => {
        const err = new CredentialResolutionError('backend_denied');
        (err as { message: string }).message = `denied for ${marker}`;
        return Promise.reject(err);
      }),
    );
    resolver.register(
      scriptedBackend('expired', () => Promise.resolve(leakyCredential('expired'))),
    );
    resolver.register(
      scriptedBackend('bad-reason', () =>
        Promise.reject(new CredentialResolutionError(marker.toLowerCase() as 'backend_error')),
      ),
    );
    resolver.register(
      scriptedBackend('revoke-leaks', () => Promise.resolve(leakyCredential('revoke-leaks')), {
        revoke: () => Promise.reject(new Error(`revoke of ${marker} failed`)),
      }),
    );

    let caught: unknown;
    try {
      await resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof CredentialResolutionError);
    assert.equal(caught.attempts.length, 5);

    // Control: the backend error really carried the marker, and the detector sees it.
    assert.throws(() =>
      expectNoMarker(errorTexts(new Error(`upstream said ${marker}`)), marker, 'control'),
    );
    expectNoMarker(errorTexts(caught), marker, 'the resolution error');
    assert.ok(log.lines.length >= 5, 'failures were logged');
    expectNoMarker(log.text(), marker, 'log lines');
  });

  it('through JSON, inspect, logs and the fingerprint of an issued credential', async () => {
    const marker = newMarker();
    const log = capturedLogger();
    const resolver = new CredentialResolver({ clock: new ManualClock(T0), logger: log.logger });
    resolver.register(
      scriptedBackend('leaky', () =>
        Promise.resolve(
          oauthCredential('leaky', new Date(T0 + 60_000), {
            accessToken: Secret.fromString(marker),
          }),
        ),
      ),
    );
    const cred = await resolver.resolve('oauth', TARGET, acFor(TARGET, T0));
    log.logger.info({ credential: cred }, 'a careless log line');

    // Control: with the Secret's bytes spelled out, the same serialisation would leak.
    const unredacted = { ...cred, accessToken: cred.accessToken.unsafeReveal().toString() };
    assert.throws(() => expectNoMarker(JSON.stringify(unredacted), marker, 'control'));
    assert.throws(() => expectNoMarker(inspect(unredacted), marker, 'control'));

    expectNoMarker(JSON.stringify(cred), marker, 'JSON.stringify');
    expectNoMarker(inspect(cred, { depth: null, showHidden: true }), marker, 'util.inspect');
    expectNoMarker(`${cred.accessToken} ${String(cred.accessToken)}`, marker, 'string conversion');
    expectNoMarker(log.text(), marker, 'log lines');
    assert.equal(cred.accessToken.unsafeReveal().toString(), marker, 'the secret itself is intact');
  });
});
