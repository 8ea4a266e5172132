/**
 * The encryption and checksum types Bastion speaks: the AES enctypes of RFC 3962 (17, 18:
 * HMAC-SHA1-96) and RFC 8009 (19, 20: HMAC-SHA256-128 and HMAC-SHA384-192), and their
 * checksum types (15, 16, 19, 20). DES, 3DES and RC4 are refused on purpose: they are
 * deprecated (RFC 6649, RFC 8429), and a KDC that offers only them is misconfigured.
 */
import { BastionError } from '../../base/errors.js';
import type { Secret } from '../../credentials/secret.js';

export const ENCTYPE = {
  aes128_cts_hmac_sha1_96: 17,
  aes256_cts_hmac_sha1_96: 18,
  aes128_cts_hmac_sha256_128: 19,
  aes256_cts_hmac_sha384_192: 20,
} as const;

export const CKSUMTYPE = {
  hmac_sha1_96_aes128: 15,
  hmac_sha1_96_aes256: 16,
  hmac_sha256_128_aes128: 19,
  hmac_sha384_192_aes256: 20,
} as const;

/** A key and the enctype it is for; the bytes stay in the Secret. */
export interface KerberosKey {
  readonly enctype: number;
  readonly key: Secret;
}

export interface EnctypeProfile {
  readonly enctype: number;
  /** The name MIT tools and RFC 8009's salt use. */
  readonly name: string;
  /** RFC 3961's simplified profile with DK (3962), or KDF-HMAC-SHA2 (8009). */
  readonly family: 'rfc3962' | 'rfc8009';
  readonly keyBytes: 16 | 32;
  readonly hash: 'sha1' | 'sha256' | 'sha384';
  /** The truncated HMAC's length (h), for encryption and checksums alike. */
  readonly macBytes: 12 | 16 | 24;
  readonly checksumType: number;
  /** PBKDF2's iteration count when the KDC sends no s2kparams. */
  readonly defaultIterations: number;
}

const PROFILES: readonly EnctypeProfile[] = [
  {
    enctype: 17,
    name: 'aes128-cts-hmac-sha1-96',
    family: 'rfc3962',
    keyBytes: 16,
    hash: 'sha1',
    macBytes: 12,
    checksumType: 15,
    defaultIterations: 4096,
  },
  {
    enctype: 18,
    name: 'aes256-cts-hmac-sha1-96',
    family: 'rfc3962',
    keyBytes: 32,
    hash: 'sha1',
    macBytes: 12,
    checksumType: 16,
    defaultIterations: 4096,
  },
  {
    enctype: 19,
    name: 'aes128-cts-hmac-sha256-128',
    family: 'rfc8009',
    keyBytes: 16,
    hash: 'sha256',
    macBytes: 16,
    checksumType: 19,
    defaultIterations: 32768,
  },
  {
    enctype: 20,
    name: 'aes256-cts-hmac-sha384-192',
    family: 'rfc8009',
    keyBytes: 32,
    hash: 'sha384',
    macBytes: 24,
    checksumType: 20,
    defaultIterations: 32768,
  },
];

/** The enctypes Bastion supports, strongest first (the order to offer a KDC). */
export const SUPPORTED_ENCTYPES: readonly number[] = [20, 18, 19, 17];

/** The profile of `enctype`; anything but 17–20 is `kerberos_unsupported_enctype`. */
export function profileOf(enctype: number): EnctypeProfile {
  const profile = PROFILES.find((p) => p.enctype === enctype);
  if (profile === undefined) throw new BastionError('kerberos_unsupported_enctype');
  return profile;
}

/** The enctype profile a checksum type belongs to; others are `kerberos_unsupported_checksum`. */
export function profileOfChecksum(cksumtype: number): EnctypeProfile {
  const profile = PROFILES.find((p) => p.checksumType === cksumtype);
  if (profile === undefined) throw new BastionError('kerberos_unsupported_checksum');
  return profile;
}

/** The profile of a key, after checking its length fits its enctype. */
export function profileOfKey(key: KerberosKey): EnctypeProfile {
  const profile = profileOf(key.enctype);
  if (key.key.byteLength !== profile.keyBytes) throw new BastionError('kerberos_key_invalid');
  return profile;
}
