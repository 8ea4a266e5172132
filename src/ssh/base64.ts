/**
 * Base64 between Buffers, never through a JS string, for PEM bodies that hold private key
 * material: a string cannot be zeroed after use, a Buffer can.
 */

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PEM_LINE = 70;

/** The length of `base64Lines` of `n` bytes, so callers can size one buffer up front. */
export function base64LinesLength(n: number): number {
  const chars = Math.ceil(n / 3) * 4;
  return chars + Math.ceil(chars / PEM_LINE);
}

/**
 * Writes base64 of `src`, a newline every 70 characters and after the last, into `out` at
 * `at` (no JS string, no intermediate buffer); returns the offset after it.
 */
export function base64LinesInto(src: Uint8Array, out: Uint8Array, at: number): number {
  let o = at;
  let col = 0;
  const n = src.byteLength;
  for (let i = 0; i < n; i += 3) {
    const b1 = i + 1 < n ? (src[i + 1] ?? 0) : 0;
    const b2 = i + 2 < n ? (src[i + 2] ?? 0) : 0;
    const v = ((src[i] ?? 0) << 16) | (b1 << 8) | b2;
    out[o++] = B64[v >> 18] ?? 0;
    out[o++] = B64[(v >> 12) & 63] ?? 0;
    out[o++] = i + 1 < n ? (B64[(v >> 6) & 63] ?? 0) : 0x3d;
    out[o++] = i + 2 < n ? (B64[v & 63] ?? 0) : 0x3d;
    // 70 is not a multiple of 4: a line can end inside a quad, so check after each pair.
    col += 4;
    if (col >= PEM_LINE) {
      col -= PEM_LINE;
      out.copyWithin(o - col + 1, o - col, o);
      out[o - col] = 0x0a;
      o++;
    }
  }
  if (col !== 0) out[o++] = 0x0a;
  return o;
}

/** Base64 with a newline every 70 characters, written into a Buffer (no JS string). */
export function base64Lines(src: Uint8Array): Buffer {
  const out = Buffer.alloc(base64LinesLength(src.byteLength));
  return out.subarray(0, base64LinesInto(src, out, 0));
}

/** Byte → sextet for the standard alphabet; -1 for anything else. */
const B64_VALUE = ((): Int8Array => {
  const table = new Int8Array(256).fill(-1);
  B64.forEach((c, i) => (table[c] = i));
  return table;
})();

/** True for the whitespace PEM bodies may hold between base64 characters. */
export function isPemSpace(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09;
}

/**
 * Decodes padded base64 (whitespace ignored) from a Buffer into a Buffer, the inverse of
 * `base64Lines`: key material never becomes a JS string on the way. Strict: any other
 * byte, a length that is not a multiple of 4, or data after `=` is a RangeError. The
 * result is fresh, unpooled memory the caller owns (and zero-fills after use).
 */
export function base64Decode(src: Buffer): Buffer {
  const out = Buffer.alloc(Math.floor((src.byteLength * 3) / 4) + 3);
  let o = 0;
  let quad = 0;
  let count = 0;
  let padding = 0;
  const fail = (): RangeError => {
    out.fill(0);
    quad = 0;
    return new RangeError('invalid base64');
  };
  for (const c of src) {
    if (isPemSpace(c)) continue;
    if (c === 0x3d) {
      // '=' only in the last two places of the final quad.
      if (count % 4 < 2 || ++padding > 2) throw fail();
      count++;
      continue;
    }
    const v = B64_VALUE[c] ?? -1;
    if (v < 0 || padding > 0) throw fail();
    quad = (quad << 6) | v;
    if (++count % 4 === 0) {
      out[o++] = (quad >> 16) & 255;
      out[o++] = (quad >> 8) & 255;
      out[o++] = quad & 255;
      quad = 0;
    }
  }
  if (count % 4 !== 0) throw fail();
  if (padding > 0) {
    // The final quad was completed by '=' characters: emit its 1 or 2 real bytes.
    quad <<= 6 * padding;
    out[o++] = (quad >> 16) & 255;
    if (padding === 1) out[o++] = (quad >> 8) & 255;
    quad = 0;
  }
  return out.subarray(0, o);
}
