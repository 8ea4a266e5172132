/**
 * KRB-CRED [APPLICATION 22], EncKrbCredPart [APPLICATION 29] and KrbCredInfo (RFC 4120
 * §5.8): how a ticket and its session key travel together — the form of the kerberos
 * backend's credential. The EncKrbCredPart holds the session keys (Secrets once decoded);
 * its DER is encrypted under a key (usage 14) or, as MIT and RFC 4121 delegation do, sent
 * with etype 0 — either way the caller zero-fills the plaintext DER after use.
 */
import {
  applicationFields,
  decodeStrict,
  Fields,
  fromSequenceOf,
  toInteger,
  toKerberosFlags,
  toKerberosTime,
} from '../asn1/decode.js';
import {
  application,
  der,
  kerberosFlags,
  kerberosTime,
  microseconds,
  sequence,
  sequenceOf,
  uint32,
  type Asn,
} from '../asn1/encode.js';
import type { PrincipalName } from '../principal.js';
import {
  encryptedDataAsn,
  encryptionKeyAsn,
  hostAddressAsn,
  hostAddressesAsn,
  optional,
  principalNameAsn,
  readEncryptedData,
  readEncryptionKey,
  readHostAddress,
  readHostAddresses,
  readPrincipalName,
  readRealm,
  realmAsn,
  type EncryptedData,
  type EncryptionKey,
  type HostAddress,
} from './basic.js';
import { APPLICATION_TAG, MSG_TYPE } from './constants.js';
import { encodeMessage, readMessage } from './envelope.js';
import { readTicket, ticketAsn, type Ticket } from './ticket.js';

export interface KrbCred {
  readonly tickets: readonly Ticket[];
  readonly encPart: EncryptedData;
}

export function encodeKrbCred(c: KrbCred): Buffer {
  return encodeMessage(MSG_TYPE.krb_cred, [
    [2, sequenceOf(c.tickets.map(ticketAsn))],
    [3, encryptedDataAsn(c.encPart)],
  ]);
}

function readKrbCred(node: Asn): KrbCred {
  const f = readMessage(node, MSG_TYPE.krb_cred, 'KRB-CRED');
  return {
    tickets: fromSequenceOf(f.required(2), 'KRB-CRED').map(readTicket),
    encPart: readEncryptedData(f.required(3)),
  };
}

export const decodeKrbCred = (bytes: Uint8Array): KrbCred =>
  decodeStrict(bytes, 'KRB-CRED', readKrbCred, encodeKrbCred);

export interface KrbCredInfo {
  readonly key: EncryptionKey;
  readonly prealm?: string | undefined;
  readonly pname?: PrincipalName | undefined;
  readonly flags?: number | undefined;
  readonly authtime?: Date | undefined;
  readonly starttime?: Date | undefined;
  readonly endtime?: Date | undefined;
  readonly renewTill?: Date | undefined;
  readonly srealm?: string | undefined;
  readonly sname?: PrincipalName | undefined;
  readonly caddr?: readonly HostAddress[] | undefined;
}

function krbCredInfoAsn(i: KrbCredInfo): Asn {
  return sequence([
    [0, encryptionKeyAsn(i.key)],
    [1, optional(i.prealm, realmAsn)],
    [2, optional(i.pname, principalNameAsn)],
    [3, optional(i.flags, kerberosFlags)],
    [4, optional(i.authtime, kerberosTime)],
    [5, optional(i.starttime, kerberosTime)],
    [6, optional(i.endtime, kerberosTime)],
    [7, optional(i.renewTill, kerberosTime)],
    [8, optional(i.srealm, realmAsn)],
    [9, optional(i.sname, principalNameAsn)],
    [10, optional(i.caddr, hostAddressesAsn)],
  ]);
}

function readKrbCredInfo(node: Asn): KrbCredInfo {
  const what = 'KrbCredInfo';
  const f = new Fields(node, what);
  const time = (n: Asn): Date => toKerberosTime(n, what);
  return {
    key: readEncryptionKey(f.required(0)),
    prealm: optional(f.optional(1), readRealm),
    pname: optional(f.optional(2), readPrincipalName),
    flags: optional(f.optional(3), (n) => toKerberosFlags(n, what)),
    authtime: optional(f.optional(4), time),
    starttime: optional(f.optional(5), time),
    endtime: optional(f.optional(6), time),
    renewTill: optional(f.optional(7), time),
    srealm: optional(f.optional(8), readRealm),
    sname: optional(f.optional(9), readPrincipalName),
    caddr: optional(f.optional(10), readHostAddresses),
  };
}

export interface EncKrbCredPart {
  readonly ticketInfo: readonly KrbCredInfo[];
  readonly nonce?: number | undefined;
  readonly timestamp?: Date | undefined;
  readonly usec?: number | undefined;
  readonly sAddress?: HostAddress | undefined;
  readonly rAddress?: HostAddress | undefined;
}

function encKrbCredPartAsn(p: EncKrbCredPart): Asn {
  return application(
    APPLICATION_TAG.enc_krb_cred_part,
    sequence([
      [0, sequenceOf(p.ticketInfo.map(krbCredInfoAsn))],
      [1, optional(p.nonce, uint32)],
      [2, optional(p.timestamp, kerberosTime)],
      [3, optional(p.usec, microseconds)],
      [4, optional(p.sAddress, hostAddressAsn)],
      [5, optional(p.rAddress, hostAddressAsn)],
    ]),
  );
}

function readEncKrbCredPart(node: Asn): EncKrbCredPart {
  const what = 'EncKrbCredPart';
  const f = applicationFields(node, APPLICATION_TAG.enc_krb_cred_part, what);
  return {
    ticketInfo: fromSequenceOf(f.required(0), what).map(readKrbCredInfo),
    nonce: optional(f.optional(1), (n) => toInteger(n, what)),
    timestamp: optional(f.optional(2), (n) => toKerberosTime(n, what)),
    usec: optional(f.optional(3), (n) => toInteger(n, what)),
    sAddress: optional(f.optional(4), readHostAddress),
    rAddress: optional(f.optional(5), readHostAddress),
  };
}

/** The DER of an EncKrbCredPart: it holds session keys, so the caller zero-fills it. */
export const encodeEncKrbCredPart = (p: EncKrbCredPart): Buffer => der(encKrbCredPartAsn(p));
export const decodeEncKrbCredPart = (bytes: Uint8Array): EncKrbCredPart =>
  decodeStrict(bytes, 'EncKrbCredPart', readEncKrbCredPart, encodeEncKrbCredPart);
