/**
 * The pool of public randomness (nonces, serials, check bytes): every draw is fresh, also
 * across a refill, and a draw larger than the pool is refused rather than repeated.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fillPublicRandom, publicRandomU64 } from '../../src/ssh/public-random.js';

describe('public randomness pool', () => {
  it('never hands out the same bytes twice, across refills', () => {
    const seen = new Set<string>();
    // 3 × 4096 bytes in 32-byte draws, interleaved with serials: crosses several refills.
    for (let i = 0; i < 384; i++) {
      const nonce = Buffer.alloc(34);
      fillPublicRandom(nonce, 1, 32);
      assert.equal(nonce[0], 0);
      assert.equal(nonce[33], 0);
      seen.add(nonce.toString('hex'));
      seen.add(publicRandomU64().toString(16));
    }
    assert.equal(seen.size, 768);
  });

  it('refuses a draw larger than the pool', () => {
    assert.throws(() => fillPublicRandom(Buffer.alloc(4097), 0, 4097), RangeError);
  });
});
