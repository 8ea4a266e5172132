/**
 * KRB-ERROR [APPLICATION 30] (RFC 4120 §5.9.1) and its error codes (§7.5.9), named so the
 * backend can map them to Bastion's own codes (KRB_AP_ERR_SKEW to a clock-skew code,
 * KDC_ERR_BADOPTION to a delegation refusal…). The e-text is a peer's text: it is decoded
 * for completeness, never put in an error message or a log.
 */
import {
  decodeStrict,
  toInteger,
  toKerberosString,
  toKerberosTime,
  toOctets,
} from '../asn1/decode.js';
import {
  int32,
  kerberosString,
  kerberosTime,
  microseconds,
  octets,
  type Asn,
} from '../asn1/encode.js';
import type { PrincipalName } from '../principal.js';
import { optional, principalNameAsn, readPrincipalName, readRealm, realmAsn } from './basic.js';
import { MSG_TYPE } from './constants.js';
import { encodeMessage, readMessage } from './envelope.js';

export const KRB_ERROR_CODE = {
  KDC_ERR_NONE: 0,
  KDC_ERR_NAME_EXP: 1,
  KDC_ERR_SERVICE_EXP: 2,
  KDC_ERR_BAD_PVNO: 3,
  KDC_ERR_C_OLD_MAST_KVNO: 4,
  KDC_ERR_S_OLD_MAST_KVNO: 5,
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_PRINCIPAL_NOT_UNIQUE: 8,
  KDC_ERR_NULL_KEY: 9,
  KDC_ERR_CANNOT_POSTDATE: 10,
  KDC_ERR_NEVER_VALID: 11,
  KDC_ERR_POLICY: 12,
  KDC_ERR_BADOPTION: 13,
  KDC_ERR_ETYPE_NOSUPP: 14,
  KDC_ERR_SUMTYPE_NOSUPP: 15,
  KDC_ERR_PADATA_TYPE_NOSUPP: 16,
  KDC_ERR_TRTYPE_NOSUPP: 17,
  KDC_ERR_CLIENT_REVOKED: 18,
  KDC_ERR_SERVICE_REVOKED: 19,
  KDC_ERR_TGT_REVOKED: 20,
  KDC_ERR_CLIENT_NOTYET: 21,
  KDC_ERR_SERVICE_NOTYET: 22,
  KDC_ERR_KEY_EXPIRED: 23,
  KDC_ERR_PREAUTH_FAILED: 24,
  KDC_ERR_PREAUTH_REQUIRED: 25,
  KDC_ERR_SERVER_NOMATCH: 26,
  KDC_ERR_MUST_USE_USER2USER: 27,
  KDC_ERR_PATH_NOT_ACCEPTED: 28,
  KDC_ERR_SVC_UNAVAILABLE: 29,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_TKT_EXPIRED: 32,
  KRB_AP_ERR_TKT_NYV: 33,
  KRB_AP_ERR_REPEAT: 34,
  KRB_AP_ERR_NOT_US: 35,
  KRB_AP_ERR_BADMATCH: 36,
  KRB_AP_ERR_SKEW: 37,
  KRB_AP_ERR_BADADDR: 38,
  KRB_AP_ERR_BADVERSION: 39,
  KRB_AP_ERR_MSG_TYPE: 40,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_BADORDER: 42,
  KRB_AP_ERR_BADKEYVER: 44,
  KRB_AP_ERR_NOKEY: 45,
  KRB_AP_ERR_MUT_FAIL: 46,
  KRB_AP_ERR_BADDIRECTION: 47,
  KRB_AP_ERR_METHOD: 48,
  KRB_AP_ERR_BADSEQ: 49,
  KRB_AP_ERR_INAPP_CKSUM: 50,
  KRB_AP_PATH_NOT_ACCEPTED: 51,
  KRB_ERR_RESPONSE_TOO_BIG: 52,
  KRB_ERR_GENERIC: 60,
  KRB_ERR_FIELD_TOOLONG: 61,
  KDC_ERR_CLIENT_NOT_TRUSTED: 62,
  KDC_ERR_KDC_NOT_TRUSTED: 63,
  KDC_ERR_INVALID_SIG: 64,
  KDC_ERR_WRONG_REALM: 68,
  KRB_AP_ERR_USER_TO_USER_REQUIRED: 69,
  KDC_ERR_CANT_VERIFY_CERTIFICATE: 70,
  KDC_ERR_INVALID_CERTIFICATE: 71,
  KDC_ERR_REVOKED_CERTIFICATE: 72,
  KDC_ERR_PREAUTH_EXPIRED: 90,
  KDC_ERR_MORE_PREAUTH_DATA_REQUIRED: 91,
  KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS: 93,
} as const;

export type KrbErrorName = keyof typeof KRB_ERROR_CODE;

/** The name of an error code, or undefined for one RFC 4120 does not list. */
export function krbErrorName(code: number): KrbErrorName | undefined {
  const entry = Object.entries(KRB_ERROR_CODE).find(([, c]) => c === code);
  return entry?.[0] as KrbErrorName | undefined;
}

export interface KrbError {
  readonly ctime?: Date | undefined;
  readonly cusec?: number | undefined;
  readonly stime: Date;
  readonly susec: number;
  readonly errorCode: number;
  readonly crealm?: string | undefined;
  readonly cname?: PrincipalName | undefined;
  readonly realm: string;
  readonly sname: PrincipalName;
  /** A peer's text: never log it or put it in an error. */
  readonly eText?: string | undefined;
  readonly eData?: Uint8Array | undefined;
}

export function encodeKrbError(e: KrbError): Buffer {
  return encodeMessage(MSG_TYPE.krb_error, [
    [2, optional(e.ctime, kerberosTime)],
    [3, optional(e.cusec, microseconds)],
    [4, kerberosTime(e.stime)],
    [5, microseconds(e.susec)],
    [6, int32(e.errorCode)],
    [7, optional(e.crealm, realmAsn)],
    [8, optional(e.cname, principalNameAsn)],
    [9, realmAsn(e.realm)],
    [10, principalNameAsn(e.sname)],
    [11, optional(e.eText, kerberosString)],
    [12, optional(e.eData, octets)],
  ]);
}

function readKrbError(node: Asn): KrbError {
  const what = 'KRB-ERROR';
  const f = readMessage(node, MSG_TYPE.krb_error, what);
  const int = (n: Asn): number => toInteger(n, what);
  return {
    ctime: optional(f.optional(2), (n) => toKerberosTime(n, what)),
    cusec: optional(f.optional(3), int),
    stime: toKerberosTime(f.required(4), what),
    susec: int(f.required(5)),
    errorCode: int(f.required(6)),
    crealm: optional(f.optional(7), readRealm),
    cname: optional(f.optional(8), readPrincipalName),
    realm: readRealm(f.required(9)),
    sname: readPrincipalName(f.required(10)),
    eText: optional(f.optional(11), (n) => toKerberosString(n, what)),
    eData: optional(f.optional(12), (n) => toOctets(n, what)),
  };
}

export const decodeKrbError = (bytes: Uint8Array): KrbError =>
  decodeStrict(bytes, 'KRB-ERROR', readKrbError, encodeKrbError);
