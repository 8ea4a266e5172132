import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { buildCatalog, ERROR_CATALOG, ERROR_CODES } from '../src/base/error-catalog.js';
import {
  BastionError,
  ConfigError,
  InvalidArgumentError,
  isKnownErrorCode,
  toErrorResponse,
  type ErrorCode,
} from '../src/base/errors.js';
import { CredentialResolutionError, NoBackendAvailable } from '../src/credentials/errors.js';
import { expectNoMarker, newMarker } from './helpers/leak.js';

describe('error hierarchy', () => {
  it('declares every code once, snake_case, with an error status and a message', () => {
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
    assert.equal(ERROR_CATALOG.size, ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      assert.match(code, /^[a-z][a-z0-9_]+$/);
      assert.ok(isKnownErrorCode(code));
      const spec = ERROR_CATALOG.get(code);
      assert.ok(spec !== undefined && spec.status >= 400 && spec.status <= 599, code);
      assert.ok(spec.message.length > 0, code);
    }
    assert.equal(isKnownErrorCode('not_a_code_we_declared'), false);
    assert.throws(() => new BastionError('made_up_here' as ErrorCode), /undeclared/);
  });

  it('refuses a catalog that declares a code twice, or a bad code or status', () => {
    assert.throws(
      () =>
        buildCatalog([
          ['some_code', 400, 'a'],
          ['some_code', 409, 'b'],
        ]),
      /declared twice/,
    );
    assert.throws(() => buildCatalog([['Not-Snake', 400, 'a']]), /snake_case/);
    assert.throws(() => buildCatalog([['ok_code', 200, 'a']]), /status/);
    assert.equal(buildCatalog([['ok_code', 400, 'a']]).get('ok_code')?.status, 400);
  });

  it('takes its status and message from the catalog, each {} filled exactly once', () => {
    const err = new BastionError('store_closed');
    assert.equal(err.status, ERROR_CATALOG.get('store_closed')?.status);
    assert.equal(err.message, ERROR_CATALOG.get('store_closed')?.message);
    assert.equal(new InvalidArgumentError('target').message, 'Invalid target');
    assert.throws(() => new BastionError('invalid_argument'), /wrong details/);
    assert.throws(() => new BastionError('store_closed', { details: ['x'] }), /wrong details/);
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
