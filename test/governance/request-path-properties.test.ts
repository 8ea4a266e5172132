/**
 * Percent normalisation, by property (fast-check, bounded, fixed seed). `normalisePercent`
 * refuses exactly the malformed escapes, keeps the bytes a path stands for, and leaves
 * escapes upper-case and unreserved characters decoded, as a fixed point.
 * `normaliseRequestPath` either refuses with http_path_invalid or returns that normal form,
 * in which no decoding (once, twice, three times) shows a dot segment, an empty segment,
 * a backslash or a control character; and a dot segment spelt any way is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normaliseRequestPath, RequestPathError } from '../../src/governance/request-path.js';
import { normalisePercent } from '../../src/governance/targets.js';
import { runs, unlessRefused } from '../helpers/property.js';

const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/** One round of percent-decoding, byte for byte (as a server would do it). */
function decodeOnce(text: string): string {
  return text.replace(ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The bytes a path stands for. */
function bytesOf(text: string): Buffer {
  return Buffer.from(decodeOnce(text), 'latin1');
}

// Path characters, escapes of every kind (unreserved, reserved, dots, `%`, overlong starts,
// control characters, backslashes) and stray `%` and hex digits.
const pieces = [
  ..."aZ09-._~!$&'()*+,;=:@/",
  '%',
  'f',
  'G',
  '%41',
  '%7e',
  '%7E',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%25',
  '%3b',
  '%c0',
  '%C1',
  '%00',
  '%0a',
  '%5c',
  '%5C',
  '%ff',
  '..',
];
const pathArb = fc
  .array(fc.constantFrom(...pieces), { maxLength: 16 })
  .map((parts) => `/${parts.join('')}`);

function pathOrError(raw: string): string | undefined {
  return unlessRefused(() => normaliseRequestPath(raw), RequestPathError);
}

describe('percent normalisation (properties)', () => {
  it('normalisePercent refuses exactly the malformed escapes, and keeps the bytes', () => {
    fc.assert(
      fc.property(pathArb, (raw) => {
        const out = normalisePercent(raw);
        assert.equal(out === undefined, /%(?![0-9A-Fa-f]{2})/.test(raw), raw);
        if (out === undefined) return;
        assert.deepEqual(bytesOf(out), bytesOf(raw));
        assert.equal(normalisePercent(out), out, 'a fixed point');
        for (const [, hex = ''] of out.matchAll(ESCAPE)) {
          assert.equal(hex, hex.toUpperCase());
          assert.doesNotMatch(String.fromCharCode(parseInt(hex, 16)), /^[A-Za-z0-9\-._~]$/);
        }
        // Overlong UTF-8 starts are refused only when asked.
        const overlong = /%[cC][01]/.test(raw);
        assert.equal(normalisePercent(raw, { refuseOverlong: true }) === undefined, overlong);
      }),
      runs(1000),
    );
  });

  it('normaliseRequestPath returns that normal form, and nothing that decodes to a way out', () => {
    fc.assert(
      fc.property(pathArb, (raw) => {
        const out = pathOrError(raw);
        if (out === undefined) return;
        assert.equal(out, normalisePercent(raw, { refuseOverlong: true }));
        assert.equal(normaliseRequestPath(out), out, 'a fixed point');
        let decoded = out;
        for (let round = 0; round <= 3; round += 1) {
          // eslint-disable-next-line no-control-regex
          assert.doesNotMatch(decoded, /[\u0000-\u001f\u007f\\]/, raw);
          const segments = decoded.slice(1).split('/');
          segments.forEach((segment, i) => {
            const bare = segment.split(';')[0];
            assert.ok(bare !== '.' && bare !== '..', `${raw} decodes to a dot segment`);
            assert.ok(segment !== '' || i === segments.length - 1, `${raw}: empty segment`);
          });
          decoded = decodeOnce(decoded);
        }
      }),
      runs(2000),
    );
  });

  it('normaliseRequestPath refuses a dot segment however it is spelt', () => {
    const dots = fc.constantFrom(
      '.',
      '..',
      '%2e',
      '%2E%2e',
      '.%2e',
      '%252e%252e',
      '%25252E.',
      '..;x',
      '%2e%2e%3bx',
    );
    const segment = fc.stringMatching(/^[A-Za-z0-9\-_~]{1,6}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 4 }),
        dots,
        fc.nat(),
        fc.boolean(),
        (segments, dot, at, slash) => {
          const all = [...segments];
          all.splice(at % (all.length + 1), 0, dot);
          const raw = `/${all.join(slash ? '%2f' : '/')}`;
          assert.equal(pathOrError(raw), undefined, raw);
        },
      ),
      runs(500),
    );
  });
});
