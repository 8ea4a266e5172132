// Durations: every accepted spelling, every refusal, and that refusals never quote input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDuration,
  MAX_DURATION_SECONDS,
  parseDuration,
  tryParseDuration,
} from '../../src/base/duration.js';
import { InvalidArgumentError } from '../../src/base/errors.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';

describe('parseDuration', () => {
  const valid: [string | number, number][] = [
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['1h30m', 5400],
    ['2d', 172_800],
    ['1d2h3m4s', 93_784],
    ['1h0m', 3600],
    ['0h30m', 1800],
    ['90m', 5400],
    ['30', 30],
    ['1', 1],
    [45, 45],
    [MAX_DURATION_SECONDS, MAX_DURATION_SECONDS],
    [String(MAX_DURATION_SECONDS), MAX_DURATION_SECONDS],
  ];
  for (const [input, seconds] of valid) {
    it(`reads ${JSON.stringify(input)} as ${seconds} s`, () => {
      assert.equal(parseDuration(input), seconds);
      assert.deepEqual(tryParseDuration(input), { ok: true, seconds });
    });
  }

  const invalid: [unknown, RegExp][] = [
    ['0s', /greater than zero/],
    ['0', /greater than zero/],
    [0, /greater than zero/],
    ['0h0m', /greater than zero/],
    [-5, /greater than zero/],
    ['-5s', /such as/],
    ['', /such as/],
    ['s', /such as/],
    ['1.5h', /such as/],
    ['1H', /such as/],
    ['1 h', /such as/],
    [' 1h', /such as/],
    ['1h ', /such as/],
    ['30m1h', /such as/],
    ['1h1h', /such as/],
    ['1w', /such as/],
    ['1h30', /such as/],
    ['abc', /such as/],
    ['PT1H', /such as/],
    [1.5, /whole number/],
    [Number.NaN, /whole number/],
    [Number.POSITIVE_INFINITY, /whole number/],
    [MAX_DURATION_SECONDS + 1, /too long/],
    [String(MAX_DURATION_SECONDS + 1), /too long/],
    ['99999999999s', /such as/], // more than ten digits in one part
    ['9999999999d', /too long/],
    [null, /such as/],
    [true, /such as/],
    [['1h'], /such as/],
  ];
  for (const [input, reason] of invalid) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const result = tryParseDuration(input);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
      if (typeof input === 'string' || typeof input === 'number') {
        assert.throws(() => parseDuration(input), InvalidArgumentError);
      }
    });
  }

  it('names what was invalid, never the input', () => {
    const marker = newMarker();
    assert.throws(
      () => parseDuration(`${marker}h`, 'max_duration'),
      (err: unknown) =>
        err instanceof InvalidArgumentError && err.message === 'Invalid max_duration',
    );
    const result = tryParseDuration(marker);
    expectNoMarker(JSON.stringify(result), marker, 'reason');
  });
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [1, '1s'],
    [90, '1m30s'],
    [900, '15m'],
    [5400, '1h30m'],
    [172_800, '2d'],
    [93_784, '1d2h3m4s'],
  ];
  for (const [seconds, text] of cases) {
    it(`writes ${seconds} s as ${text} and reads it back`, () => {
      assert.equal(formatDuration(seconds), text);
      assert.equal(parseDuration(text), seconds);
    });
  }

  it('refuses what is not a duration', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => formatDuration(bad), InvalidArgumentError);
    }
  });
});
