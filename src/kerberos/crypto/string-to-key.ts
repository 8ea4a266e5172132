/**
 * string-to-key: a long-term key from a password and salt. RFC 3962 §4 (PBKDF2-HMAC-SHA1,
 * then DK(tkey, "kerberos")) and RFC 8009 §4 (PBKDF2-HMAC-SHA256/384 over
 * enctype-name | 0x00 | salt, then KDF-HMAC-SHA2(tkey, "kerberos")). The s2kparams are a
 * 4-byte big-endian iteration count; like MIT, counts of 2^24 and above are refused (and so
 * is 0, which RFC 3962 reads as 2^32). The password's and PBKDF2's bytes are zero-filled;
 * the key is returned in a Secret.
 */
import { pbkdf2Sync, randomFillSync } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import { Secret } from '../../credentials/secret.js';
import { joinOwned, wipe } from './bytes.js';
import { dr, kdfHmacSha2 } from './derive.js';
import { profileOf, type EnctypeProfile, type KerberosKey } from './enctypes.js';

const MAX_ITERATIONS = 0xffffff;
const KERBEROS = Buffer.from('kerberos', 'latin1');

/** The iteration count the s2kparams give, or the enctype's default without them. */
export function iterationsOf(profile: EnctypeProfile, params?: Uint8Array): number {
  if (params === undefined) return profile.defaultIterations;
  if (params.byteLength !== 4) throw new BastionError('kerberos_s2kparams_invalid');
  const count = Buffer.from(params.buffer, params.byteOffset, 4).readUInt32BE(0);
  if (count === 0 || count > MAX_ITERATIONS) throw new BastionError('kerberos_s2kparams_invalid');
  return count;
}

/** The long-term key of `enctype` for `password` and `salt` (e.g. REALM + name components). */
export function stringToKey(
  enctype: number,
  password: Secret,
  salt: Uint8Array,
  params?: Uint8Array,
): KerberosKey {
  const profile = profileOf(enctype);
  const iterations = iterationsOf(profile, params);
  const saltp =
    profile.family === 'rfc3962'
      ? joinOwned(salt)
      : joinOwned(Buffer.from(profile.name, 'latin1'), Buffer.of(0), salt);
  const tkey = password.use((pw) =>
    pbkdf2Sync(pw, saltp, iterations, profile.keyBytes, profile.hash),
  );
  try {
    const key =
      profile.family === 'rfc3962'
        ? dr(tkey, KERBEROS, profile.keyBytes)
        : kdfHmacSha2(profile.hash as 'sha256' | 'sha384', tkey, KERBEROS, profile.keyBytes * 8);
    return { enctype, key: Secret.adopt(key) };
  } finally {
    wipe(tkey, saltp);
  }
}

/** RFC 3961's random-to-key, the identity for AES: checks the length, copies the bytes. */
export function randomToKey(enctype: number, bytes: Uint8Array): KerberosKey {
  const profile = profileOf(enctype);
  if (bytes.byteLength !== profile.keyBytes) throw new BastionError('kerberos_key_invalid');
  return { enctype, key: Secret.copyOf(bytes) };
}

/** A fresh random key of `enctype` (a subkey, a session key of our own). */
export function generateKey(enctype: number): KerberosKey {
  const profile = profileOf(enctype);
  return { enctype, key: Secret.adopt(randomFillSync(Buffer.alloc(profile.keyBytes))) };
}
