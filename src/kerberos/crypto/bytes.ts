/**
 * Byte helpers for key material: buffers of their own (never Node's shared pool, whose
 * slabs other code reuses) and zero-filling of intermediates.
 */

/** The parts concatenated into a buffer of its own. */
export function joinOwned(...parts: readonly Uint8Array[]): Buffer {
  const out = Buffer.alloc(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A copy of `bytes` in a buffer of its own. */
export function copyOwned(bytes: Uint8Array): Buffer {
  return joinOwned(bytes);
}

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
