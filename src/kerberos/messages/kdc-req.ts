/**
 * KDC-REQ and KDC-REQ-BODY (RFC 4120 §5.4.1): AS-REQ [APPLICATION 10] and TGS-REQ
 * [APPLICATION 12]. The body has its own encoder because a TGS-REQ's authenticator carries
 * a checksum over the body's DER.
 */
import {
  applicationTag,
  decodeStrict,
  derInvalid,
  Fields,
  fromSequenceOf,
  toInteger,
  toKerberosFlags,
  toKerberosTime,
} from '../asn1/decode.js';
import {
  der,
  int32,
  kerberosFlags,
  kerberosTime,
  sequence,
  sequenceOf,
  uint32,
  type Asn,
} from '../asn1/encode.js';
import type { PrincipalName } from '../principal.js';
import {
  encryptedDataAsn,
  hostAddressesAsn,
  optional,
  paDataListAsn,
  principalNameAsn,
  readEncryptedData,
  readHostAddresses,
  readPaDataList,
  readPrincipalName,
  readRealm,
  realmAsn,
  type EncryptedData,
  type HostAddress,
  type PaData,
} from './basic.js';
import { MSG_TYPE } from './constants.js';
import { encodeMessage, readMessage } from './envelope.js';
import { readTicket, ticketAsn, type Ticket } from './ticket.js';

export interface KdcReqBody {
  readonly kdcOptions: number;
  readonly cname?: PrincipalName | undefined;
  readonly realm: string;
  readonly sname?: PrincipalName | undefined;
  readonly from?: Date | undefined;
  readonly till: Date;
  readonly rtime?: Date | undefined;
  readonly nonce: number;
  /** The enctypes the client accepts, most preferred first. */
  readonly etype: readonly number[];
  readonly addresses?: readonly HostAddress[] | undefined;
  readonly encAuthorizationData?: EncryptedData | undefined;
  readonly additionalTickets?: readonly Ticket[] | undefined;
}

export function kdcReqBodyAsn(b: KdcReqBody): Asn {
  return sequence([
    [0, kerberosFlags(b.kdcOptions)],
    [1, optional(b.cname, principalNameAsn)],
    [2, realmAsn(b.realm)],
    [3, optional(b.sname, principalNameAsn)],
    [4, optional(b.from, kerberosTime)],
    [5, kerberosTime(b.till)],
    [6, optional(b.rtime, kerberosTime)],
    [7, uint32(b.nonce)],
    [8, sequenceOf(b.etype.map(int32))],
    [9, optional(b.addresses, hostAddressesAsn)],
    [10, optional(b.encAuthorizationData, encryptedDataAsn)],
    [11, optional(b.additionalTickets, (list) => sequenceOf(list.map(ticketAsn)))],
  ]);
}

export function readKdcReqBody(node: Asn): KdcReqBody {
  const what = 'KDC-REQ-BODY';
  const f = new Fields(node, what);
  return {
    kdcOptions: toKerberosFlags(f.required(0), what),
    cname: optional(f.optional(1), readPrincipalName),
    realm: readRealm(f.required(2)),
    sname: optional(f.optional(3), readPrincipalName),
    from: optional(f.optional(4), (n) => toKerberosTime(n, what)),
    till: toKerberosTime(f.required(5), what),
    rtime: optional(f.optional(6), (n) => toKerberosTime(n, what)),
    nonce: toInteger(f.required(7), what),
    etype: fromSequenceOf(f.required(8), what).map((n) => toInteger(n, what)),
    addresses: optional(f.optional(9), readHostAddresses),
    encAuthorizationData: optional(f.optional(10), readEncryptedData),
    additionalTickets: optional(f.optional(11), (n) => fromSequenceOf(n, what).map(readTicket)),
  };
}

/** The DER of a KDC-REQ-BODY, as the TGS-REQ authenticator's checksum covers it. */
export const encodeKdcReqBody = (b: KdcReqBody): Buffer => der(kdcReqBodyAsn(b));

export interface KdcReq {
  readonly msgType: typeof MSG_TYPE.as_req | typeof MSG_TYPE.tgs_req;
  readonly padata?: readonly PaData[] | undefined;
  readonly reqBody: KdcReqBody;
}

export function encodeKdcReq(r: KdcReq): Buffer {
  const fields = [
    [3, optional(r.padata, paDataListAsn)],
    [4, kdcReqBodyAsn(r.reqBody)],
  ] as const;
  return encodeMessage(r.msgType, fields, 1);
}

function readKdcReq(node: Asn): KdcReq {
  const msgType = applicationTag(node);
  if (msgType !== MSG_TYPE.as_req && msgType !== MSG_TYPE.tgs_req) throw derInvalid('KDC-REQ');
  const f = readMessage(node, msgType, 'KDC-REQ', 1);
  return {
    msgType,
    padata: optional(f.optional(3), readPaDataList),
    reqBody: readKdcReqBody(f.required(4)),
  };
}

/** An AS-REQ or a TGS-REQ (msgType tells which). */
export const decodeKdcReq = (bytes: Uint8Array): KdcReq =>
  decodeStrict(bytes, 'KDC-REQ', readKdcReq, encodeKdcReq);
