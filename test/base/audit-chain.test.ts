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
