/**
 * AES in CBC mode with ciphertext stealing (RFC 3962 §5, the CBC-CS3 variant Kerberos uses:
 * the last two blocks swapped, the last one truncated), on node:crypto's AES-CBC without
 * padding. The key is passed as bytes the caller owns; node:crypto copies it into OpenSSL's
 * cipher context, which Bastion cannot zero-fill (the context is freed when collected).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { joinOwned, wipe } from './bytes.js';

const BLOCK = 16;

function algorithm(key: Uint8Array): string {
  if (key.byteLength !== 16 && key.byteLength !== 32) throw new RangeError('AES key length');
  return `aes-${key.byteLength * 8}-cbc`;
}

function cbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = encrypt
    ? createCipheriv(algorithm(key), key, iv)
    : createDecipheriv(algorithm(key), key, iv);
  c.setAutoPadding(false);
  const head = c.update(data);
  const tail = c.final();
  if (tail.byteLength === 0) return head;
  const out = joinOwned(head, tail);
  wipe(head, tail);
  return out;
}

/** One AES block in ECB (the `E` of RFC 3961's DR), i.e. CBC with a zero IV. */
export function aesBlock(key: Uint8Array, block: Uint8Array): Buffer {
  return cbc(true, key, Buffer.alloc(BLOCK), block);
}

/** CTS-encrypts `plain` (at least one block); the output has the input's length. */
export function ctsEncrypt(key: Uint8Array, iv: Uint8Array, plain: Uint8Array): Buffer {
  if (plain.byteLength < BLOCK) throw new RangeError('CTS input shorter than a block');
  if (plain.byteLength === BLOCK) return cbc(true, key, iv, plain);
  const padded = Buffer.alloc(Math.ceil(plain.byteLength / BLOCK) * BLOCK);
  padded.set(plain);
  const c = cbc(true, key, iv, padded);
  padded.fill(0);
  const n = c.byteLength / BLOCK;
  const lastLength = plain.byteLength - (n - 1) * BLOCK;
  // C1 … C(n-2), then Cn, then C(n-1) cut to the length of the last plaintext block.
  const out = joinOwned(
    c.subarray(0, (n - 2) * BLOCK),
    c.subarray((n - 1) * BLOCK),
    c.subarray((n - 2) * BLOCK, (n - 2) * BLOCK + lastLength),
  );
  wipe(c);
  return out;
}

/** Inverts ctsEncrypt. */
export function ctsDecrypt(key: Uint8Array, iv: Uint8Array, cipher: Uint8Array): Buffer {
  if (cipher.byteLength < BLOCK) throw new RangeError('CTS input shorter than a block');
  if (cipher.byteLength === BLOCK) return cbc(false, key, iv, cipher);
  const n = Math.ceil(cipher.byteLength / BLOCK);
  const lastLength = cipher.byteLength - (n - 1) * BLOCK;
  const lastFull = cipher.subarray((n - 2) * BLOCK, (n - 1) * BLOCK); // Cn
  const stolen = cipher.subarray((n - 1) * BLOCK); // the head of C(n-1)
  // Decrypting Cn alone gives Pn ⊕ C(n-1); its tail is the tail C(n-1) lost to the theft.
  const d = cbc(false, key, Buffer.alloc(BLOCK), lastFull);
  const previous = joinOwned(stolen, d.subarray(lastLength));
  wipe(d);
  const reordered = joinOwned(cipher.subarray(0, (n - 2) * BLOCK), previous, lastFull);
  const plain = cbc(false, key, iv, reordered);
  const out = joinOwned(plain.subarray(0, cipher.byteLength));
  wipe(plain);
  return out;
}
