/**
 * Random bytes for values that are not secret (a certificate's nonce and serial, a key
 * blob's check bytes), served from a pool refilled 4 KiB at a time: each `randomFillSync`
 * call costs a few microseconds of fixed overhead, more than minting spends on anything
 * but the key pair and the signature. As Node's own `randomUUID` cache does. Never use it
 * for key material: the pool holds upcoming values in memory until they are drawn.
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let next = pool.byteLength;

/** Where the next `n` unused bytes of the pool start, refilling it when too few are left. */
function take(n: number): number {
  if (n > pool.byteLength) throw new RangeError('too many bytes');
  if (next + n > pool.byteLength) {
    randomFillSync(pool);
    next = 0;
  }
  next += n;
  return next - n;
}

/** Fills `out[at, at + n)` with fresh random bytes (n ≤ 4096); every byte is used once. */
export function fillPublicRandom(out: Uint8Array, at: number, n: number): void {
  const from = take(n);
  out.set(pool.subarray(from, from + n), at);
  pool.fill(0, from, from + n);
}

/** A random unsigned 64-bit integer (a certificate serial). */
export function publicRandomU64(): bigint {
  const from = take(8);
  const v = pool.readBigUInt64BE(from);
  pool.fill(0, from, from + 8);
  return v;
}
