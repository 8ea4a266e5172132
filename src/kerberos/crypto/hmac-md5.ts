/**
 * KERB_CHECKSUM_HMAC_MD5 (checksum type -138, RFC 4757 §4): the checksum MS-SFU §2.2.1
 * requires in PA-FOR-USER, whatever the enctype of the TGT's session key (the key's bytes
 * are the HMAC key, AES keys included). MD5 here is a MAC inside HMAC, the only place
 * Bastion uses it; a Node.js in FIPS mode has no MD5, and then S4U2Self needs
 * PA-S4U-X509-USER instead (see docs/kerberos.md).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import { wipe } from './bytes.js';
import type { KerberosKey } from './enctypes.js';

export const CKSUMTYPE_HMAC_MD5 = -138;
const SIGNATURE_KEY = Buffer.from('signaturekey\0', 'latin1');

/** HMAC(HMAC(K, "signaturekey\0"), MD5(usage as 4 bytes little-endian | data)). */
export function hmacMd5Checksum(key: KerberosKey, usage: number, data: Uint8Array): Buffer {
  return key.key.use((k) => {
    const ksign = createHmac('md5', k).update(SIGNATURE_KEY).digest();
    const t = Buffer.alloc(4);
    t.writeUInt32LE(usage >>> 0);
    const inner = createHash('md5').update(t).update(data).digest();
    try {
      return createHmac('md5', ksign).update(inner).digest();
    } finally {
      wipe(ksign, inner);
    }
  });
}

/** Throws `kerberos_checksum_invalid` unless `expected` is the HMAC-MD5 checksum of `data`. */
export function verifyHmacMd5Checksum(
  key: KerberosKey,
  usage: number,
  data: Uint8Array,
  expected: Uint8Array,
): void {
  const actual = hmacMd5Checksum(key, usage, data);
  if (actual.byteLength !== expected.byteLength || !timingSafeEqual(actual, expected)) {
    throw new BastionError('kerberos_checksum_invalid');
  }
}
