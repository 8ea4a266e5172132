import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { skipUnlessMissingNone, skipWithoutFile } from '../helpers/peer-skip.js';

describe('a missing peer skips, except under CI', () => {
  const ci = process.env['CI'];
  afterEach(() => {
    if (ci === undefined) delete process.env['CI'];
    else process.env['CI'] = ci;
  });

  it('skips with why where CI is unset, runs where the peer is there', () => {
    delete process.env['CI'];
    assert.equal(skipWithoutFile(process.execPath, 'node', 'nothing'), false);
    assert.match(
      String(skipWithoutFile('/nonexistent/python', 'hvac', 'scripts/test-all.sh')),
      /^hvac is not installed at \/nonexistent\/python \(scripts\/test-all.sh installs it\)$/,
    );
    assert.equal(skipUnlessMissingNone('the KDC', []), false);
    assert.match(
      String(skipUnlessMissingNone('the KDC', ['a (pkg)', 'b (pkg)'])),
      /missing a \(pkg\), b \(pkg\)/,
    );
  });

  it('fails under CI, where CI installs every peer', () => {
    process.env['CI'] = '1';
    assert.throws(() => skipWithoutFile('/nonexistent/python', 'hvac', 'x'), /CI is set/);
    assert.throws(() => skipUnlessMissingNone('the KDC', ['a (pkg)']), /CI is set/);
    assert.equal(skipWithoutFile(process.execPath, 'node', 'nothing'), false);
  });
});
