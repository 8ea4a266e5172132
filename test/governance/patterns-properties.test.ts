/**
 * The glob matcher of policy patterns, by property (fast-check, bounded, fixed seed): the
 * compiled, backtracking-free RegExp agrees with the obvious reference on patterns and
 * texts full of RegExp syntax and characters outside the BMP; a pattern without wildcards
 * matches itself only; and `**` means `*`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { globMatches, MAX_PATTERN_LENGTH } from '../../src/governance/patterns.js';
import { referenceGlob } from '../helpers/glob-reference.js';
import { runs } from '../helpers/property.js';

// RegExp syntax, path and target punctuation, a letter pair, and one astral character.
const CHARACTERS = [
  'a',
  'b',
  '.',
  '\\',
  '^',
  '$',
  '|',
  '+',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '/',
  '-',
  '😀',
];
// Texts may hold a newline (a command can); patterns may not (control characters are refused).
const textArb = fc.string({ unit: fc.constantFrom(...CHARACTERS, '\n'), maxLength: 12 });
const patternArb = fc.string({
  unit: fc.constantFrom(...CHARACTERS, '*', '?', '*', '?'),
  minLength: 1,
  maxLength: 8,
});

describe('glob patterns (properties)', () => {
  it('agree with the reference matcher', () => {
    fc.assert(
      fc.property(patternArb, textArb, (pattern, text) => {
        assert.equal(globMatches(pattern, text), referenceGlob(pattern, text));
      }),
      runs(2000),
    );
  });

  it('agree with it on texts built to nearly match', () => {
    // A text made from the pattern itself, its wildcards filled in (`*` with one or more
    // characters, `?` with one, astral ones included), then perhaps with one character cut.
    const fillsArb = fc.array(
      fc.string({ unit: fc.constantFrom(...CHARACTERS, '\n'), minLength: 1, maxLength: 4 }),
      {
        minLength: 8,
        maxLength: 8,
      },
    );
    const nearArb = fc
      .tuple(patternArb, fillsArb, fc.option(fc.nat(), { nil: undefined }))
      .map(([pattern, fills, cut]) => {
        const chars = [...pattern].flatMap((ch, k) => {
          const fill = [...(fills[k % fills.length] ?? 'a')];
          return ch === '*' ? fill : ch === '?' ? fill.slice(0, 1) : [ch];
        });
        if (cut !== undefined && chars.length > 0) chars.splice(cut % chars.length, 1);
        return [pattern, chars.join('')] as const;
      });
    fc.assert(
      fc.property(nearArb, ([pattern, text]) => {
        assert.equal(globMatches(pattern, text), referenceGlob(pattern, text));
      }),
      runs(2000),
    );
  });

  it('match a literal pattern to itself and nothing else', () => {
    const literal = fc.string({
      unit: fc.constantFrom(...CHARACTERS),
      minLength: 1,
      maxLength: 12,
    });
    fc.assert(
      fc.property(literal, textArb, (pattern, text) => {
        assert.equal(globMatches(pattern, pattern), true);
        assert.equal(globMatches(pattern, text), pattern === text);
      }),
      runs(500),
    );
  });

  it('read ** as *', () => {
    fc.assert(
      fc.property(patternArb, textArb, (pattern, text) => {
        const doubled = pattern.replaceAll('*', '**');
        fc.pre(doubled.length <= MAX_PATTERN_LENGTH);
        assert.equal(globMatches(doubled, text), globMatches(pattern, text));
      }),
      runs(500),
    );
  });
});
