/**
 * The PA-DATA values the later steps send or read (RFC 4120 §5.2.7, MS-KILE §2.2.10):
 * PA-ENC-TS-ENC (encrypted-timestamp pre-authentication, key usage 1), ETYPE-INFO2 (the
 * salt and s2kparams a KDC announces per enctype) and PA-PAC-OPTIONS (whose
 * resource-based-constrained-delegation bit an S4U2Proxy to Active Directory may need;
 * MIT's constrained delegation through its LDAP backend does not).
 */
import {
  decodeStrict,
  Fields,
  fromSequenceOf,
  toInteger,
  toKerberosFlags,
  toKerberosString,
  toKerberosTime,
  toOctets,
} from '../asn1/decode.js';
import {
  der,
  int32,
  kerberosFlags,
  kerberosString,
  kerberosTime,
  microseconds,
  octets,
  sequence,
  sequenceOf,
  type Asn,
} from '../asn1/encode.js';
import { optional } from './basic.js';
import { bit } from './constants.js';

export interface PaEncTsEnc {
  readonly patimestamp: Date;
  readonly pausec?: number | undefined;
}

export function encodePaEncTsEnc(p: PaEncTsEnc): Buffer {
  return der(
    sequence([
      [0, kerberosTime(p.patimestamp)],
      [1, optional(p.pausec, microseconds)],
    ]),
  );
}

function readPaEncTsEnc(node: Asn): PaEncTsEnc {
  const f = new Fields(node, 'PA-ENC-TS-ENC');
  return {
    patimestamp: toKerberosTime(f.required(0), 'PA-ENC-TS-ENC'),
    pausec: optional(f.optional(1), (n) => toInteger(n, 'PA-ENC-TS-ENC')),
  };
}

export const decodePaEncTsEnc = (bytes: Uint8Array): PaEncTsEnc =>
  decodeStrict(bytes, 'PA-ENC-TS-ENC', readPaEncTsEnc, encodePaEncTsEnc);

export interface EtypeInfo2Entry {
  readonly etype: number;
  /** The salt, as its bytes' latin1 code units (KerberosString). */
  readonly salt?: string | undefined;
  readonly s2kparams?: Uint8Array | undefined;
}

export function encodeEtypeInfo2(list: readonly EtypeInfo2Entry[]): Buffer {
  return der(
    sequenceOf(
      list.map((e) =>
        sequence([
          [0, int32(e.etype)],
          [1, optional(e.salt, kerberosString)],
          [2, optional(e.s2kparams, octets)],
        ]),
      ),
    ),
  );
}

function readEtypeInfo2(node: Asn): EtypeInfo2Entry[] {
  const what = 'ETYPE-INFO2';
  const list = fromSequenceOf(node, what).map((e) => {
    const f = new Fields(e, what);
    return {
      etype: toInteger(f.required(0), what),
      salt: optional(f.optional(1), (n) => toKerberosString(n, what)),
      s2kparams: optional(f.optional(2), (n) => toOctets(n, what)),
    };
  });
  if (list.length === 0) throw new TypeError('ETYPE-INFO2 is SIZE (1..MAX)');
  return list;
}

export const decodeEtypeInfo2 = (bytes: Uint8Array): EtypeInfo2Entry[] =>
  decodeStrict(bytes, 'ETYPE-INFO2', readEtypeInfo2, encodeEtypeInfo2);

export const PAC_OPTION = {
  claims: bit(0),
  branch_aware: bit(1),
  forward_to_full_dc: bit(2),
  resource_based_constrained_delegation: bit(3),
} as const;

export function encodePaPacOptions(options: number): Buffer {
  return der(sequence([[0, kerberosFlags(options)]]));
}

export const decodePaPacOptions = (bytes: Uint8Array): number =>
  decodeStrict(
    bytes,
    'PA-PAC-OPTIONS',
    (node) => toKerberosFlags(new Fields(node, 'PA-PAC-OPTIONS').required(0), 'PA-PAC-OPTIONS'),
    encodePaPacOptions,
  );
