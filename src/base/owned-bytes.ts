/**
 * Bytes in memory of their own: never Node's shared 8 KiB Buffer pool (where Buffer.from,
 * Buffer.concat and allocUnsafe put small buffers), whose slab any other live slice keeps
 * alive, so a zero-fill of one view would not be the only copy's end. For key material,
 * tokens and whatever holds them.
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

/** `text`, encoded into a buffer of its own. */
export function encodeOwned(text: string, encoding: BufferEncoding = 'utf8'): Buffer {
  const out = Buffer.alloc(Buffer.byteLength(text, encoding));
  out.write(text, encoding);
  return out;
}

/** The parts concatenated into a buffer of its own, each part zero-filled once copied. */
export function joinWiping(parts: readonly Uint8Array[]): Buffer {
  const out = joinOwned(...parts);
  for (const p of parts) p.fill(0);
  return out;
}
