import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyOwned, encodeOwned, joinOwned, joinWiping } from '../../src/base/owned-bytes.js';

/** A buffer of its own spans its whole ArrayBuffer; a pool slice does not. */
function isOwn(b: Buffer): boolean {
  return b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;
}

describe('owned bytes (never the shared Buffer pool)', () => {
  it('copies, joins and encodes into memory of their own', () => {
    const pooled = Buffer.from('token-in-the-pool');
    assert.ok(!isOwn(pooled), 'control: Buffer.from of a short string is a pool slice');
    const copy = copyOwned(pooled);
    assert.ok(isOwn(copy));
    assert.deepEqual(copy, pooled);
    const joined = joinOwned(Buffer.from('ab'), new Uint8Array([0x63]));
    assert.ok(isOwn(joined));
    assert.equal(joined.toString(), 'abc');
    const encoded = encodeOwned('é', 'utf8');
    assert.ok(isOwn(encoded));
    assert.equal(encoded.toString('hex'), 'c3a9');
    assert.equal(encodeOwned('ff', 'hex').toString('hex'), 'ff');
  });

  it('joinWiping zero-fills each part once copied', () => {
    const parts = [Buffer.from('secret-'), Buffer.from('key')];
    const joined = joinWiping(parts);
    assert.ok(isOwn(joined));
    assert.equal(joined.toString(), 'secret-key');
    for (const p of parts) assert.ok(p.every((b) => b === 0));
  });
});
