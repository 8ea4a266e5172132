/**
 * The chain primitives: canonical JSON (the exact bytes that are hashed) and the entry
 * hash. A fixed vector pins the format, since the broker, the verifier and the Bascule
 * runtime must all agree on it byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GENESIS, auditHash, canonicalJson } from '../../src/base/audit-chain.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops whitespace and omits undefined fields', () => {
    const value = { b: 1, a: [1, { d: undefined, c: 'x' }, undefined], e: undefined, A: null };
    assert.equal(canonicalJson(value), '{"A":null,"a":[1,{"c":"x"},null],"b":1}');
    assert.equal(canonicalJson({}), '{}');
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson('a"\n\u2028'), JSON.stringify('a"\n\u2028'));
    assert.equal(canonicalJson(true), 'true');
    assert.equal(canonicalJson(-0), '0');
  });

  it('gives the same text whatever the insertion order', () => {
    assert.equal(
      canonicalJson({ x: { q: 1, p: [2, 3] }, a: 'z' }),
      canonicalJson({ a: 'z', x: { p: [2, 3], q: 1 } }),
    );
  });

  it('survives a round trip through JSON unchanged (what storage does to a detail)', () => {
    const samples: unknown[] = [
      { ünïcödé: '日本語 \ud83d\ude00', big: 1e21, small: 5e-324, neg: -12.5, nested: [[{}]] },
      { when: new Date(0) },
      ['a', 1, null, false, { k: [undefined] }],
      { lone: '\ud800' },
    ];
    for (const value of samples) {
      const text = canonicalJson(value);
      assert.equal(canonicalJson(JSON.parse(text)), text);
    }
    assert.equal(canonicalJson({ when: new Date(0) }), '{"when":"1970-01-01T00:00:00.000Z"}');
  });

  it('refuses what JSON cannot carry faithfully', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const value of [
      NaN,
      Infinity,
      { n: -Infinity },
      1n,
      () => 1,
      Symbol('s'),
      { f: () => 1 },
      cyclic,
    ]) {
      assert.throws(() => canonicalJson(value), TypeError);
    }
    // A shared (not cyclic) reference is fine.
    const shared = { v: 1 };
    assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"v":1},"b":{"v":1}}');
  });
});

/** RFC 8785 (JCS), Appendix B: IEEE 754 doubles (hex) and their canonical text. */
const RFC8785_NUMBERS: readonly (readonly [string, string | undefined])[] = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['7fffffffffffffff', undefined], // NaN: an error
  ['7ff0000000000000', undefined], // Infinity: an error
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

describe('canonicalJson is RFC 8785 (JCS): its published vectors', () => {
  it('serialises numbers as Appendix B does, and refuses NaN and Infinity', () => {
    for (const [hex, expected] of RFC8785_NUMBERS) {
      const value = Buffer.from(hex, 'hex').readDoubleBE(0);
      if (expected === undefined) assert.throws(() => canonicalJson(value), TypeError, hex);
      else assert.equal(canonicalJson(value), expected, hex);
    }
  });

  it('sorts keys by UTF-16 code units (§3.2.3)', () => {
    const input =
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}';
    const text = canonicalJson(JSON.parse(input));
    // The keys in the text's order (Object.keys of a parse would put "1" first).
    const keys = [...text.matchAll(/"([^"]*)":"[^"]*"/gu)].map((m) =>
      [...(JSON.parse(`"${m[1]}"`) as string)].map((c) => c.codePointAt(0)?.toString(16)).join('+'),
    );
    // Object.keys would put "1" first; JCS puts it after "\r" (0x0d < 0x31).
    assert.deepEqual(keys, ['d', '31', '80', 'f6', '20ac', '1f600', 'fb33']);
    assert.ok(text.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"'));
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33 by code unit, after it by code point.
    assert.ok(text.indexOf('\ud83d\ude00') < text.indexOf('\ufb33'));
  });

  it("gives §3.2.2's output for its sample, byte for byte (UTF-8, Appendix A-style check)", () => {
    const input = `{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`;
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    assert.equal(canonicalJson(JSON.parse(input)), expected);
    assert.equal(
      Buffer.from(canonicalJson(JSON.parse(input)), 'utf8').toString('hex'),
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d',
    );
  });
});

describe('auditHash', () => {
  const entry = {
    seq: 1,
    ts: '2026-11-28T12:00:00.000Z',
    type: 'authorize',
    actor: 'did:key:z6MkA',
    detail: { b: 2, a: 1 },
    prev: GENESIS,
  };

  it('is SHA-256 hex of the canonical JSON of every field but hash (fixed vector)', () => {
    assert.equal(GENESIS, '0'.repeat(64));
    const expected = sha256(
      `{"actor":"did:key:z6MkA","detail":{"a":1,"b":2},"prev":"${GENESIS}","seq":1,"ts":"2026-11-28T12:00:00.000Z","type":"authorize"}`,
    );
    assert.equal(auditHash(entry), expected);
    assert.match(expected, /^[0-9a-f]{64}$/);
    // The stored hash field is ignored, so a stored entry re-hashes as is.
    assert.equal(auditHash({ ...entry, hash: 'f'.repeat(64) }), expected);
    assert.equal(auditHash({ ...entry, principal: undefined }), expected);
  });

  it('changes when any covered field changes, seq, ts and prev included', () => {
    const base = auditHash(entry);
    const variants = [
      { ...entry, seq: 2 },
      { ...entry, ts: '2026-11-28T12:00:00.001Z' },
      { ...entry, prev: '1'.repeat(64) },
      { ...entry, type: 'revoke' },
      { ...entry, actor: 'did:key:z6MkB' },
      { ...entry, detail: { a: 1, b: 3 } },
      { ...entry, detail: { a: 1, b: 2, c: null } },
      { ...entry, outcome: 'ok' },
    ];
    const hashes = new Set(variants.map(auditHash));
    assert.equal(hashes.size, variants.length);
    assert.equal(hashes.has(base), false);
  });
});
