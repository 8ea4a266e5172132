/**
 * Ticket and EncTicketPart (RFC 4120 §5.3). A Ticket stays opaque to its client (its
 * enc-part is for the service); EncTicketPart is what a service — or a test playing the
 * KDC — decrypts, and holds the session key (in a Secret once decoded).
 */
import {
  applicationFields,
  decodeStrict,
  expectInteger,
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
  type Asn,
} from '../asn1/encode.js';
import type { PrincipalName } from '../principal.js';
import {
  authorizationDataAsn,
  encryptedDataAsn,
  encryptionKeyAsn,
  hostAddressesAsn,
  optional,
  principalNameAsn,
  readAuthorizationData,
  readEncryptedData,
  readEncryptionKey,
  readHostAddresses,
  readPrincipalName,
  readRealm,
  readTransited,
  realmAsn,
  transitedAsn,
  type AuthorizationElement,
  type EncryptedData,
  type EncryptionKey,
  type HostAddress,
  type TransitedEncoding,
} from './basic.js';
import { APPLICATION_TAG, PVNO } from './constants.js';

export interface Ticket {
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly encPart: EncryptedData;
}

export function ticketAsn(t: Ticket): Asn {
  return application(
    APPLICATION_TAG.ticket,
    sequence([
      [0, int32(PVNO)],
      [1, realmAsn(t.realm)],
      [2, principalNameAsn(t.sname)],
      [3, encryptedDataAsn(t.encPart)],
    ]),
  );
}

export function readTicket(node: Asn): Ticket {
  const f = applicationFields(node, APPLICATION_TAG.ticket, 'Ticket');
  expectInteger(f.required(0), PVNO, 'Ticket');
  return {
    realm: readRealm(f.required(1)),
    sname: readPrincipalName(f.required(2)),
    encPart: readEncryptedData(f.required(3)),
  };
}

export const encodeTicket = (t: Ticket): Buffer => der(ticketAsn(t));
export const decodeTicket = (bytes: Uint8Array): Ticket =>
  decodeStrict(bytes, 'Ticket', readTicket, encodeTicket);

export interface EncTicketPart {
  readonly flags: number;
  readonly key: EncryptionKey;
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly transited: TransitedEncoding;
  readonly authtime: Date;
  readonly starttime?: Date | undefined;
  readonly endtime: Date;
  readonly renewTill?: Date | undefined;
  readonly caddr?: readonly HostAddress[] | undefined;
  readonly authorizationData?: readonly AuthorizationElement[] | undefined;
}

function encTicketPartAsn(p: EncTicketPart): Asn {
  return application(
    APPLICATION_TAG.enc_ticket_part,
    sequence([
      [0, kerberosFlags(p.flags)],
      [1, encryptionKeyAsn(p.key)],
      [2, realmAsn(p.crealm)],
      [3, principalNameAsn(p.cname)],
      [4, transitedAsn(p.transited)],
      [5, kerberosTime(p.authtime)],
      [6, optional(p.starttime, kerberosTime)],
      [7, kerberosTime(p.endtime)],
      [8, optional(p.renewTill, kerberosTime)],
      [9, optional(p.caddr, hostAddressesAsn)],
      [10, optional(p.authorizationData, authorizationDataAsn)],
    ]),
  );
}

function readEncTicketPart(node: Asn): EncTicketPart {
  const what = 'EncTicketPart';
  const f = applicationFields(node, APPLICATION_TAG.enc_ticket_part, what);
  return {
    flags: toKerberosFlags(f.required(0), what),
    key: readEncryptionKey(f.required(1)),
    crealm: readRealm(f.required(2)),
    cname: readPrincipalName(f.required(3)),
    transited: readTransited(f.required(4)),
    authtime: toKerberosTime(f.required(5), what),
    starttime: optional(f.optional(6), (n) => toKerberosTime(n, what)),
    endtime: toKerberosTime(f.required(7), what),
    renewTill: optional(f.optional(8), (n) => toKerberosTime(n, what)),
    caddr: optional(f.optional(9), readHostAddresses),
    authorizationData: optional(f.optional(10), readAuthorizationData),
  };
}

/** The DER of an EncTicketPart: it holds the session key, so the caller zero-fills it. */
export const encodeEncTicketPart = (p: EncTicketPart): Buffer => der(encTicketPartAsn(p));
export const decodeEncTicketPart = (bytes: Uint8Array): EncTicketPart =>
  decodeStrict(bytes, 'EncTicketPart', readEncTicketPart, encodeEncTicketPart);
