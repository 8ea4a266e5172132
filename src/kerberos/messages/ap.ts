/**
 * AP-REQ [APPLICATION 14] and its Authenticator [APPLICATION 2] (RFC 4120 §5.5.1), and
 * AP-REP [APPLICATION 15] with EncAPRepPart [APPLICATION 27] (§5.5.2) — what a TGS-REQ's
 * PA-TGS-REQ carries, and what RFC 4121's initial context tokens wrap. Subkeys are held in
 * Secrets once decoded.
 */
import {
  applicationFields,
  decodeStrict,
  expectInteger,
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
  microseconds,
  sequence,
  uint32,
  type Asn,
} from '../asn1/encode.js';
import type { PrincipalName } from '../principal.js';
import {
  authorizationDataAsn,
  checksumAsn,
  encryptedDataAsn,
  encryptionKeyAsn,
  optional,
  principalNameAsn,
  readAuthorizationData,
  readChecksum,
  readEncryptedData,
  readEncryptionKey,
  readPrincipalName,
  readRealm,
  realmAsn,
  type AuthorizationElement,
  type Checksum,
  type EncryptedData,
  type EncryptionKey,
} from './basic.js';
import { APPLICATION_TAG, MSG_TYPE, PVNO } from './constants.js';
import { encodeMessage, readMessage } from './envelope.js';
import { readTicket, ticketAsn, type Ticket } from './ticket.js';

export interface ApReq {
  readonly apOptions: number;
  readonly ticket: Ticket;
  readonly authenticator: EncryptedData;
}

export function encodeApReq(r: ApReq): Buffer {
  return encodeMessage(MSG_TYPE.ap_req, [
    [2, kerberosFlags(r.apOptions)],
    [3, ticketAsn(r.ticket)],
    [4, encryptedDataAsn(r.authenticator)],
  ]);
}

function readApReq(node: Asn): ApReq {
  const f = readMessage(node, MSG_TYPE.ap_req, 'AP-REQ');
  return {
    apOptions: toKerberosFlags(f.required(2), 'AP-REQ'),
    ticket: readTicket(f.required(3)),
    authenticator: readEncryptedData(f.required(4)),
  };
}

export const decodeApReq = (bytes: Uint8Array): ApReq =>
  decodeStrict(bytes, 'AP-REQ', readApReq, encodeApReq);

export interface Authenticator {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly cksum?: Checksum | undefined;
  readonly cusec: number;
  readonly ctime: Date;
  readonly subkey?: EncryptionKey | undefined;
  readonly seqNumber?: number | undefined;
  readonly authorizationData?: readonly AuthorizationElement[] | undefined;
}

function authenticatorAsn(a: Authenticator): Asn {
  return application(
    APPLICATION_TAG.authenticator,
    sequence([
      [0, int32(PVNO)],
      [1, realmAsn(a.crealm)],
      [2, principalNameAsn(a.cname)],
      [3, optional(a.cksum, checksumAsn)],
      [4, microseconds(a.cusec)],
      [5, kerberosTime(a.ctime)],
      [6, optional(a.subkey, encryptionKeyAsn)],
      [7, optional(a.seqNumber, uint32)],
      [8, optional(a.authorizationData, authorizationDataAsn)],
    ]),
  );
}

function readAuthenticator(node: Asn): Authenticator {
  const what = 'Authenticator';
  const f = applicationFields(node, APPLICATION_TAG.authenticator, what);
  expectInteger(f.required(0), PVNO, what);
  return {
    crealm: readRealm(f.required(1)),
    cname: readPrincipalName(f.required(2)),
    cksum: optional(f.optional(3), readChecksum),
    cusec: toInteger(f.required(4), what),
    ctime: toKerberosTime(f.required(5), what),
    subkey: optional(f.optional(6), readEncryptionKey),
    seqNumber: optional(f.optional(7), (n) => toInteger(n, what)),
    authorizationData: optional(f.optional(8), readAuthorizationData),
  };
}

/** The DER of an Authenticator: with a subkey it holds a key, so the caller zero-fills it. */
export const encodeAuthenticator = (a: Authenticator): Buffer => der(authenticatorAsn(a));
export const decodeAuthenticator = (bytes: Uint8Array): Authenticator =>
  decodeStrict(bytes, 'Authenticator', readAuthenticator, encodeAuthenticator);

export interface ApRep {
  readonly encPart: EncryptedData;
}

export function encodeApRep(r: ApRep): Buffer {
  return encodeMessage(MSG_TYPE.ap_rep, [[2, encryptedDataAsn(r.encPart)]]);
}

function readApRep(node: Asn): ApRep {
  const f = readMessage(node, MSG_TYPE.ap_rep, 'AP-REP');
  return { encPart: readEncryptedData(f.required(2)) };
}

export const decodeApRep = (bytes: Uint8Array): ApRep =>
  decodeStrict(bytes, 'AP-REP', readApRep, encodeApRep);

export interface EncApRepPart {
  readonly ctime: Date;
  readonly cusec: number;
  readonly subkey?: EncryptionKey | undefined;
  readonly seqNumber?: number | undefined;
}

function encApRepPartAsn(p: EncApRepPart): Asn {
  return application(
    APPLICATION_TAG.enc_ap_rep_part,
    sequence([
      [0, kerberosTime(p.ctime)],
      [1, microseconds(p.cusec)],
      [2, optional(p.subkey, encryptionKeyAsn)],
      [3, optional(p.seqNumber, uint32)],
    ]),
  );
}

function readEncApRepPart(node: Asn): EncApRepPart {
  const what = 'EncAPRepPart';
  const f = applicationFields(node, APPLICATION_TAG.enc_ap_rep_part, what);
  return {
    ctime: toKerberosTime(f.required(0), what),
    cusec: toInteger(f.required(1), what),
    subkey: optional(f.optional(2), readEncryptionKey),
    seqNumber: optional(f.optional(3), (n) => toInteger(n, what)),
  };
}

export const encodeEncApRepPart = (p: EncApRepPart): Buffer => der(encApRepPartAsn(p));
export const decodeEncApRepPart = (bytes: Uint8Array): EncApRepPart =>
  decodeStrict(bytes, 'EncAPRepPart', readEncApRepPart, encodeEncApRepPart);
