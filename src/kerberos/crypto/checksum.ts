/**
 * Keyed checksums (RFC 3961 §5.4 for types 15 and 16 of RFC 3962; RFC 8009 §5 for 19 and
 * 20): a truncated HMAC under Kc, the key derived for the usage. The key must be of the
 * checksum type's enctype. Verification is constant-time and answers
 * `kerberos_checksum_invalid`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import { joinOwned, wipe } from './bytes.js';
import { KC, usageKey } from './derive.js';
import { profileOfChecksum, profileOfKey, type KerberosKey } from './enctypes.js';

/** The checksum of `data` of type `cksumtype` under `key` for key usage `usage`. */
export function checksum(
  cksumtype: number,
  key: KerberosKey,
  usage: number,
  data: Uint8Array,
): Buffer {
  const profile = profileOfChecksum(cksumtype);
  if (profileOfKey(key).enctype !== profile.enctype) {
    throw new BastionError('kerberos_key_invalid');
  }
  return key.key.use((base) => {
    const kc = usageKey(profile, base, usage, KC);
    try {
      const full = createHmac(profile.hash, kc).update(data).digest();
      const out = joinOwned(full.subarray(0, profile.macBytes));
      wipe(full);
      return out;
    } finally {
      wipe(kc);
    }
  });
}

/** Throws `kerberos_checksum_invalid` unless `expected` is the checksum of `data`. */
export function verifyChecksum(
  cksumtype: number,
  key: KerberosKey,
  usage: number,
  data: Uint8Array,
  expected: Uint8Array,
): void {
  const actual = checksum(cksumtype, key, usage, data);
  if (actual.byteLength !== expected.byteLength || !timingSafeEqual(actual, expected)) {
    throw new BastionError('kerberos_checksum_invalid');
  }
}
