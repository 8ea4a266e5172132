/**
 * Byte helpers for key material: buffers of their own (src/base/owned-bytes.ts, re-exported
 * here) and zero-filling of intermediates.
 */

export { copyOwned, joinOwned } from '../../base/owned-bytes.js';

/** Zero-fills every buffer given. */
export function wipe(...buffers: readonly (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

/** A 32-bit big-endian unsigned integer. */
export function uint32be(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}
