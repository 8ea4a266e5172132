/**
 * Key derivation: DR/DK of RFC 3961 §5.1 (for RFC 3962's enctypes) and KDF-HMAC-SHA2 of
 * RFC 8009 §3 (for its enctypes), and the per-usage keys Kc, Ke, Ki both derive. Every
 * derived key is a buffer of its own that the caller zero-fills after use.
 */
import { createHmac } from 'node:crypto';
import { aesBlock } from './aes-cts.js';
import { joinOwned, uint32be, wipe } from './bytes.js';
import type { EnctypeProfile } from './enctypes.js';
import { nfold } from './nfold.js';

/** RFC 3961's DR: AES-encrypts n-fold(constant) repeatedly until `keyBytes` are out. */
export function dr(key: Uint8Array, constant: Uint8Array, keyBytes: number): Buffer {
  const blocks: Buffer[] = [];
  let block = constant.byteLength === 16 ? joinOwned(constant) : nfold(constant, 16);
  for (let have = 0; have < keyBytes; have += 16) {
    block = aesBlock(key, block); // K1 = E(key, constant), K(i+1) = E(key, Ki)
    blocks.push(block);
  }
  const out = joinOwned(...blocks).subarray(0, keyBytes);
  wipe(...blocks);
  return out;
}

/** RFC 8009's KDF-HMAC-SHA2(key, label, k): the first k bits of HMAC(key, 1 | label | 0 | k). */
export function kdfHmacSha2(
  hash: 'sha256' | 'sha384',
  key: Uint8Array,
  label: Uint8Array,
  bits: number,
): Buffer {
  const input = joinOwned(uint32be(1), label, Buffer.of(0), uint32be(bits));
  const full = createHmac(hash, key).update(input).digest();
  const out = joinOwned(full.subarray(0, bits / 8));
  wipe(full);
  return out;
}

/** The derivation constants of RFC 3961 §5.3: checksum, encryption, integrity. */
export const KC = 0x99;
export const KE = 0xaa;
export const KI = 0x55;

/** The usage key of `kind` (KC, KE or KI) for `usage`, from the base key's bytes. */
export function usageKey(
  profile: EnctypeProfile,
  baseKey: Uint8Array,
  usage: number,
  kind: typeof KC | typeof KE | typeof KI,
): Buffer {
  const constant = joinOwned(uint32be(usage), Buffer.of(kind));
  if (profile.family === 'rfc3962') return dr(baseKey, constant, profile.keyBytes);
  const bytes = kind === KE ? profile.keyBytes : profile.macBytes;
  return kdfHmacSha2(profile.hash as 'sha256' | 'sha384', baseKey, constant, bytes * 8);
}
