/**
 * KDC-REP (RFC 4120 §5.4.2): AS-REP [APPLICATION 11] and TGS-REP [APPLICATION 13], and
 * the EncKDCRepPart inside their enc-part — EncASRepPart [25] or EncTGSRepPart [26] —
 * which holds the new session key (in a Secret once decoded). Some KDCs (Windows) answer a
 * TGS-REQ with an EncASRepPart; the tag decoded is kept, so the strict re-encoding holds.
 */
import {
  applicationFields,
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
  application,
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
  encryptionKeyAsn,
  hostAddressesAsn,
  optional,
  paDataListAsn,
  principalNameAsn,
  readEncryptedData,
  readEncryptionKey,
  readHostAddresses,
  readPaDataList,
  readPrincipalName,
  readRealm,
  realmAsn,
  type EncryptedData,
  type EncryptionKey,
  type HostAddress,
  type PaData,
} from './basic.js';
import { APPLICATION_TAG, MSG_TYPE } from './constants.js';
import { encodeMessage, readMessage } from './envelope.js';
import { readTicket, ticketAsn, type Ticket } from './ticket.js';

export interface KdcRep {
  readonly msgType: typeof MSG_TYPE.as_rep | typeof MSG_TYPE.tgs_rep;
  readonly padata?: readonly PaData[] | undefined;
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly ticket: Ticket;
  readonly encPart: EncryptedData;
}

export function encodeKdcRep(r: KdcRep): Buffer {
  return encodeMessage(r.msgType, [
    [2, optional(r.padata, paDataListAsn)],
    [3, realmAsn(r.crealm)],
    [4, principalNameAsn(r.cname)],
    [5, ticketAsn(r.ticket)],
    [6, encryptedDataAsn(r.encPart)],
  ]);
}

function readKdcRep(node: Asn): KdcRep {
  const msgType = applicationTag(node);
  if (msgType !== MSG_TYPE.as_rep && msgType !== MSG_TYPE.tgs_rep) throw derInvalid('KDC-REP');
  const f = readMessage(node, msgType, 'KDC-REP');
  return {
    msgType,
    padata: optional(f.optional(2), readPaDataList),
    crealm: readRealm(f.required(3)),
    cname: readPrincipalName(f.required(4)),
    ticket: readTicket(f.required(5)),
    encPart: readEncryptedData(f.required(6)),
  };
}

/** An AS-REP or a TGS-REP (msgType tells which). */
export const decodeKdcRep = (bytes: Uint8Array): KdcRep =>
  decodeStrict(bytes, 'KDC-REP', readKdcRep, encodeKdcRep);

export interface LastReqEntry {
  readonly lrType: number;
  readonly lrValue: Date;
}

export interface EncKdcRepPart {
  readonly tag: typeof APPLICATION_TAG.enc_as_rep_part | typeof APPLICATION_TAG.enc_tgs_rep_part;
  readonly key: EncryptionKey;
  readonly lastReq: readonly LastReqEntry[];
  readonly nonce: number;
  readonly keyExpiration?: Date | undefined;
  readonly flags: number;
  readonly authtime: Date;
  readonly starttime?: Date | undefined;
  readonly endtime: Date;
  readonly renewTill?: Date | undefined;
  readonly srealm: string;
  readonly sname: PrincipalName;
  readonly caddr?: readonly HostAddress[] | undefined;
  readonly encryptedPaData?: readonly PaData[] | undefined;
}

function encKdcRepPartAsn(p: EncKdcRepPart): Asn {
  const lastReq = sequenceOf(
    p.lastReq.map((e) =>
      sequence([
        [0, int32(e.lrType)],
        [1, kerberosTime(e.lrValue)],
      ]),
    ),
  );
  return application(
    p.tag,
    sequence([
      [0, encryptionKeyAsn(p.key)],
      [1, lastReq],
      [2, uint32(p.nonce)],
      [3, optional(p.keyExpiration, kerberosTime)],
      [4, kerberosFlags(p.flags)],
      [5, kerberosTime(p.authtime)],
      [6, optional(p.starttime, kerberosTime)],
      [7, kerberosTime(p.endtime)],
      [8, optional(p.renewTill, kerberosTime)],
      [9, realmAsn(p.srealm)],
      [10, principalNameAsn(p.sname)],
      [11, optional(p.caddr, hostAddressesAsn)],
      [12, optional(p.encryptedPaData, paDataListAsn)],
    ]),
  );
}

function readEncKdcRepPart(node: Asn): EncKdcRepPart {
  const what = 'EncKDCRepPart';
  const tag = applicationTag(node);
  if (tag !== APPLICATION_TAG.enc_as_rep_part && tag !== APPLICATION_TAG.enc_tgs_rep_part) {
    throw derInvalid(what);
  }
  const f = applicationFields(node, tag, what);
  const time = (n: Asn): Date => toKerberosTime(n, what);
  return {
    tag,
    key: readEncryptionKey(f.required(0)),
    lastReq: fromSequenceOf(f.required(1), what).map((e) => {
      const lr = new Fields(e, what);
      return { lrType: toInteger(lr.required(0), what), lrValue: time(lr.required(1)) };
    }),
    nonce: toInteger(f.required(2), what),
    keyExpiration: optional(f.optional(3), time),
    flags: toKerberosFlags(f.required(4), what),
    authtime: time(f.required(5)),
    starttime: optional(f.optional(6), time),
    endtime: time(f.required(7)),
    renewTill: optional(f.optional(8), time),
    srealm: readRealm(f.required(9)),
    sname: readPrincipalName(f.required(10)),
    caddr: optional(f.optional(11), readHostAddresses),
    encryptedPaData: optional(f.optional(12), readPaDataList),
  };
}

/** The DER of an EncKDCRepPart: it holds the session key, so the caller zero-fills it. */
export const encodeEncKdcRepPart = (p: EncKdcRepPart): Buffer => der(encKdcRepPartAsn(p));
export const decodeEncKdcRepPart = (bytes: Uint8Array): EncKdcRepPart =>
  decodeStrict(bytes, 'EncKDCRepPart', readEncKdcRepPart, encodeEncKdcRepPart);
