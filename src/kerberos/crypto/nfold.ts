/**
 * n-fold (RFC 3961 §5.1): stretches or folds a constant (such as "kerberos" or a key usage)
 * to the cipher's block size before key derivation. Written with BigInt for clarity: the
 * inputs are a few dozen bytes of public constants, never key material.
 */

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function toBig(bytes: Uint8Array): bigint {
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

function rotateRight(value: bigint, bits: bigint, by: bigint): bigint {
  const r = by % bits;
  const mask = (1n << bits) - 1n;
  return ((value >> r) | (value << (bits - r))) & mask;
}

/** The n-fold of `input` to `outBytes` bytes. */
export function nfold(input: Uint8Array, outBytes: number): Buffer {
  if (input.byteLength === 0 || outBytes <= 0) throw new RangeError('n-fold of nothing');
  const inBits = BigInt(input.byteLength * 8);
  const outBits = BigInt(outBytes * 8);
  const lcm = (input.byteLength * outBytes) / gcd(input.byteLength, outBytes);
  const copies = lcm / input.byteLength;
  const value = toBig(input);
  // The lcm-long string: copy j is the input rotated right by 13·j bits.
  let long = 0n;
  for (let j = 0; j < copies; j++)
    long = (long << inBits) | rotateRight(value, inBits, 13n * BigInt(j));
  // Its outBytes-long chunks, added with one's-complement (end-around carry) addition.
  const mask = (1n << outBits) - 1n;
  let sum = 0n;
  for (let k = 0; k < lcm / outBytes; k++) sum += (long >> (outBits * BigInt(k))) & mask;
  while (sum > mask) sum = (sum & mask) + (sum >> outBits);
  const out = Buffer.alloc(outBytes);
  for (let i = outBytes - 1; i >= 0; i--) {
    out[i] = Number(sum & 0xffn);
    sum >>= 8n;
  }
  return out;
}
