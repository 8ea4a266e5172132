/**
 * PA-FOR-USER (MS-SFU §2.2.1, padata-type 129): in an S4U2Self TGS-REQ, the user the
 * service asks a ticket to itself for. Its checksum is KERB_CHECKSUM_HMAC_MD5 under the
 * TGT's session key with key usage 17, over name-type (4 bytes, little-endian) | every
 * name component | realm | auth-package — MS-SFU requires this HMAC-MD5 checksum whatever
 * the session key's enctype, and MIT's KDC verifies it so. (PA-S4U-X509-USER, type 130,
 * which MIT and AD also accept with the session key's own checksum type, is not built
 * here: PA-FOR-USER is what both KDCs take from every client; see docs/kerberos.md.)
 */
import type { KerberosKey } from '../crypto/enctypes.js';
import { CKSUMTYPE_HMAC_MD5, hmacMd5Checksum, verifyHmacMd5Checksum } from '../crypto/hmac-md5.js';
import { decodeStrict, Fields, toKerberosString } from '../asn1/decode.js';
import { der, kerberosString, sequence, type Asn } from '../asn1/encode.js';
import type { Principal, PrincipalName } from '../principal.js';
import {
  checksumAsn,
  principalNameAsn,
  readChecksum,
  readPrincipalName,
  readRealm,
  realmAsn,
  type Checksum,
  type PaData,
} from './basic.js';
import { KEY_USAGE, PADATA_TYPE } from './constants.js';

export const AUTH_PACKAGE = 'Kerberos';

export interface PaForUser {
  readonly userName: PrincipalName;
  readonly userRealm: string;
  readonly cksum: Checksum;
  readonly authPackage: string;
}

/** The bytes the checksum covers. */
export function paForUserChecksumData(
  userName: PrincipalName,
  userRealm: string,
  authPackage: string,
): Buffer {
  const nameType = Buffer.alloc(4);
  nameType.writeInt32LE(userName.nameType);
  return Buffer.concat([
    nameType,
    ...userName.components.map((c) => Buffer.from(c, 'latin1')),
    Buffer.from(userRealm, 'latin1'),
    Buffer.from(authPackage, 'latin1'),
  ]);
}

function paForUserAsn(p: PaForUser): Asn {
  return sequence([
    [0, principalNameAsn(p.userName)],
    [1, realmAsn(p.userRealm)],
    [2, checksumAsn(p.cksum)],
    [3, kerberosString(p.authPackage)],
  ]);
}

function readPaForUser(node: Asn): PaForUser {
  const f = new Fields(node, 'PA-FOR-USER');
  return {
    userName: readPrincipalName(f.required(0)),
    userRealm: readRealm(f.required(1)),
    cksum: readChecksum(f.required(2)),
    authPackage: toKerberosString(f.required(3), 'PA-FOR-USER'),
  };
}

export const encodePaForUser = (p: PaForUser): Buffer => der(paForUserAsn(p));
export const decodePaForUser = (bytes: Uint8Array): PaForUser =>
  decodeStrict(bytes, 'PA-FOR-USER', readPaForUser, encodePaForUser);

/** The PA-DATA for an S4U2Self request for `user`, signed with the TGT's session key. */
export function paForUser(user: Principal, tgtSessionKey: KerberosKey): PaData {
  const data = paForUserChecksumData(user.name, user.realm, AUTH_PACKAGE);
  const checksum = hmacMd5Checksum(tgtSessionKey, KEY_USAGE.pa_for_user_cksum, data);
  const value: PaForUser = {
    userName: user.name,
    userRealm: user.realm,
    cksum: { cksumtype: CKSUMTYPE_HMAC_MD5, checksum },
    authPackage: AUTH_PACKAGE,
  };
  return { padataType: PADATA_TYPE.for_user, padataValue: encodePaForUser(value) };
}

/** What a KDC checks (for tests that play one): the checksum type and value. */
export function verifyPaForUser(p: PaForUser, tgtSessionKey: KerberosKey): void {
  const data = paForUserChecksumData(p.userName, p.userRealm, p.authPackage);
  const expected = p.cksum.cksumtype === CKSUMTYPE_HMAC_MD5 ? p.cksum.checksum : Buffer.alloc(0);
  verifyHmacMd5Checksum(tgtSessionKey, KEY_USAGE.pa_for_user_cksum, data, expected);
}
