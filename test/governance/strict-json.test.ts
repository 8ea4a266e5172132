/**
 * The strict JSON of signed tokens reads what JSON.parse reads, except that it refuses a
 * member name twice in one object (at any depth, however the name is escaped) and bytes
 * that are not UTF-8, where parsers would disagree on the meaning.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonObjectOfSegment, parseStrictJson } from '../../src/governance/strict-json.js';
import { escapedName, withMemberFirst } from '../helpers/json-text.js';
import { runs } from '../helpers/property.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** `inner` wrapped `depth` times in arrays or objects, beside other values. */
function nest(inner: string, path: readonly { array: boolean; beside: string }[]): string {
  return path.reduce(
    (text, { array, beside }) => (array ? `[${beside},${text}]` : `{"b":${beside},"in":${text}}`),
    inner,
  );
}

describe('parseStrictJson', () => {
  it('reads JSON without a repeated name exactly as JSON.parse does (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        assert.deepEqual(parseStrictJson(bytes(text)), JSON.parse(text));
      }),
      runs(300),
    );
  });

  it('refuses a name twice in one object, at any depth, escaped or not (property)', () => {
    const level = fc.record({ array: fc.boolean(), beside: fc.json() });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.json()),
        fc.string(),
        fc.json(),
        fc.boolean(),
        fc.array(level, { maxLength: 4 }),
        (others, name, first, escaped, path) => {
          const object = JSON.stringify({ ...others, [name]: JSON.parse(first) as unknown });
          const text = nest(withMemberFirst(object, name, first, escaped), path);
          assert.throws(() => parseStrictJson(bytes(text)), SyntaxError, text);
          // Control: the same text with a fresh name is read.
          const fresh = nest(withMemberFirst(object, `${name}\u0000fresh`, first), path);
          if (!(`${name}\u0000fresh` in others)) parseStrictJson(bytes(fresh));
        },
      ),
      runs(300),
    );
  });

  it('compares names decoded: "a" and "\\u0061" are one name', () => {
    assert.throws(() => parseStrictJson(bytes(`{"a":1,${escapedName('a')}:2}`)), SyntaxError);
    assert.deepEqual(parseStrictJson(bytes('{"a":1,"b":{"a":2},"c":[{"a":3}]}')), {
      a: 1,
      b: { a: 2 },
      c: [{ a: 3 }],
    });
    // A value equal to a name is not a name.
    assert.deepEqual(parseStrictJson(bytes('{"a":"a","b":["a","a"]}')), { a: 'a', b: ['a', 'a'] });
    // Quotes and backslashes inside strings do not confuse the scan.
    assert.deepEqual(parseStrictJson(bytes('{"a\\"":"}{,\\\\","b":1}')), { 'a"': '}{,\\', b: 1 });
    assert.throws(() => parseStrictJson(bytes('{"a\\"":1,"a\\"":2}')), SyntaxError);
  });

  it('refuses bytes that are not UTF-8, and a byte-order mark', () => {
    assert.throws(() => parseStrictJson(Buffer.from('{"a":"\xff"}', 'latin1')), SyntaxError);
    assert.throws(() => parseStrictJson(Buffer.from([0x7b, 0x22, 0xc0, 0xae, 0x22, 0x7d])));
    assert.throws(() => parseStrictJson(bytes('\ufeff{"a":1}')), SyntaxError);
    assert.deepEqual(parseStrictJson(bytes('{"é":"😀"}')), { é: '😀' });
  });

  it('takes a JWS segment to an object, and nothing else', () => {
    const segment = (v: string): string => Buffer.from(v).toString('base64url');
    assert.deepEqual(jsonObjectOfSegment(segment('{"alg":"EdDSA"}')), { alg: 'EdDSA' });
    for (const text of ['[]', '"x"', '1', 'null', '{', '{"a":1,"a":1}']) {
      assert.throws(() => jsonObjectOfSegment(segment(text)), SyntaxError, text);
    }
  });
});
