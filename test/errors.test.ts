import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  BastionError,
  ConfigError,
  ErrorCodes,
  InvalidArgumentError,
  isKnownErrorCode,
  toErrorResponse,
} from '../src/errors.js';
import { CredentialResolutionError, NoBackendAvailable } from '../src/credentials/errors.js';
import { expectNoMarker, newMarker } from './helpers/leak.js';

describe('error hierarchy', () => {
  it('has unique snake_case codes', () => {
    const codes = Object.values(ErrorCodes);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) {
      assert.match(code, /^[a-z][a-z0-9_]+$/);
      assert.ok(isKnownErrorCode(code));
    }
    assert.equal(isKnownErrorCode('not_a_code_we_declared'), false);
    assert.throws(() => new BastionError('made_up_here', 'x', 400), /undeclared/);
  });

  it('maps Bastion errors to their status and body', () => {
    const cases: [BastionError, number, string][] = [
      [new InvalidArgumentError('target'), 400, 'invalid_argument'],
      [new NoBackendAvailable('oauth'), 503, 'no_backend_available'],
      [new CredentialResolutionError(), 502, 'credential_resolution_failed'],
      [new ConfigError('maxTtlMs', 'too long'), 500, 'invalid_config'],
    ];
    for (const [err, status, code] of cases) {
      const r = toErrorResponse(err);
      assert.equal(r.status, status);
      assert.equal(r.body.error.code, code);
      assert.equal(r.body.error.message, err.message);
      assert.equal(err.name, err.constructor.name);
    }
  });

  it('turns an unknown error into a generic 500 that says nothing of it', () => {
    const marker = newMarker();
    const r = toErrorResponse(new Error(`db said ${marker}`));
    assert.deepEqual(r, {
      status: 500,
      body: { error: { code: 'internal_error', message: 'Internal server error' } },
    });
    expectNoMarker(JSON.stringify(toErrorResponse({ toString: () => marker })), marker, 'response');
  });

  it('keeps a cause out of JSON', () => {
    const marker = newMarker();
    const err = new CredentialResolutionError();
    Object.defineProperty(err, 'cause', { value: new Error(marker) });
    expectNoMarker(JSON.stringify(err), marker, 'JSON');
    assert.ok(inspect(err).includes('credential_resolution_failed'));
  });

  it('keeps a reason outside the vocabulary out of the error', () => {
    const err = new CredentialResolutionError('hunter2_password' as 'backend_error');
    assert.equal(err.reason, 'backend_error');
  });
});
