/**
 * The small types every Kerberos message is made of (RFC 4120 §5.2): PrincipalName,
 * EncryptedData, EncryptionKey (whose key value is copied into a Secret on decoding),
 * Checksum, HostAddress, AuthorizationData, PA-DATA and TransitedEncoding. Each has an
 * encoder to an asn1js value and a reader from one.
 */
import type { Secret } from '../../credentials/secret.js';
import {
  Fields,
  fromSequenceOf,
  toInteger,
  toKerberosString,
  toOctets,
  toSecret,
} from '../asn1/decode.js';
import {
  int32,
  kerberosString,
  octets,
  sequence,
  sequenceOf,
  uint32,
  type Asn,
} from '../asn1/encode.js';
import type { PrincipalName } from '../principal.js';

/** Optional fields are `undefined` when absent (decoders set them so). */
export function optional<T, R>(value: T | undefined, fn: (v: T) => R): R | undefined {
  return value === undefined ? undefined : fn(value);
}

export function principalNameAsn(name: PrincipalName): Asn {
  return sequence([
    [0, int32(name.nameType)],
    [1, sequenceOf(name.components.map(kerberosString))],
  ]);
}

export function readPrincipalName(node: Asn): PrincipalName {
  const f = new Fields(node, 'PrincipalName');
  return {
    nameType: toInteger(f.required(0), 'PrincipalName'),
    components: fromSequenceOf(f.required(1), 'PrincipalName').map((c) =>
      toKerberosString(c, 'PrincipalName'),
    ),
  };
}

export interface EncryptedData {
  readonly etype: number;
  readonly kvno?: number | undefined;
  readonly cipher: Uint8Array;
}

export function encryptedDataAsn(data: EncryptedData): Asn {
  return sequence([
    [0, int32(data.etype)],
    [1, optional(data.kvno, uint32)],
    [2, octets(data.cipher)],
  ]);
}

export function readEncryptedData(node: Asn): EncryptedData {
  const f = new Fields(node, 'EncryptedData');
  return {
    etype: toInteger(f.required(0), 'EncryptedData'),
    kvno: optional(f.optional(1), (n) => toInteger(n, 'EncryptedData')),
    cipher: toOctets(f.required(2), 'EncryptedData'),
  };
}

/** A session or sub-key: its bytes live in a Secret (the caller disposes it). */
export interface EncryptionKey {
  readonly keytype: number;
  readonly keyvalue: Secret;
}

/** The encoding holds the key's bytes: whoever encodes zero-fills the DER after use. */
export function encryptionKeyAsn(key: EncryptionKey): Asn {
  return sequence([
    [0, int32(key.keytype)],
    [1, key.keyvalue.use((bytes) => octets(bytes))],
  ]);
}

export function readEncryptionKey(node: Asn): EncryptionKey {
  const f = new Fields(node, 'EncryptionKey');
  const keytype = toInteger(f.required(0), 'EncryptionKey');
  return { keytype, keyvalue: toSecret(f.required(1), 'EncryptionKey') };
}

export interface Checksum {
  readonly cksumtype: number;
  readonly checksum: Uint8Array;
}

export function checksumAsn(sum: Checksum): Asn {
  return sequence([
    [0, int32(sum.cksumtype)],
    [1, octets(sum.checksum)],
  ]);
}

export function readChecksum(node: Asn): Checksum {
  const f = new Fields(node, 'Checksum');
  return {
    cksumtype: toInteger(f.required(0), 'Checksum'),
    checksum: toOctets(f.required(1), 'Checksum'),
  };
}

/** HostAddress (and, in a SEQUENCE OF, HostAddresses). */
export interface HostAddress {
  readonly addrType: number;
  readonly address: Uint8Array;
}

export function hostAddressAsn(a: HostAddress): Asn {
  return sequence([
    [0, int32(a.addrType)],
    [1, octets(a.address)],
  ]);
}

export function readHostAddress(node: Asn): HostAddress {
  const f = new Fields(node, 'HostAddress');
  return {
    addrType: toInteger(f.required(0), 'HostAddress'),
    address: toOctets(f.required(1), 'HostAddress'),
  };
}

export const hostAddressesAsn = (list: readonly HostAddress[]): Asn =>
  sequenceOf(list.map(hostAddressAsn));
export const readHostAddresses = (node: Asn): HostAddress[] =>
  fromSequenceOf(node, 'HostAddresses').map(readHostAddress);

/** One element of AuthorizationData (its ad-data stays opaque here, e.g. a PAC). */
export interface AuthorizationElement {
  readonly adType: number;
  readonly adData: Uint8Array;
}

export function authorizationDataAsn(list: readonly AuthorizationElement[]): Asn {
  return sequenceOf(
    list.map((e) =>
      sequence([
        [0, int32(e.adType)],
        [1, octets(e.adData)],
      ]),
    ),
  );
}

export function readAuthorizationData(node: Asn): AuthorizationElement[] {
  return fromSequenceOf(node, 'AuthorizationData').map((e) => {
    const f = new Fields(e, 'AuthorizationData');
    return {
      adType: toInteger(f.required(0), 'AuthorizationData'),
      adData: toOctets(f.required(1), 'AuthorizationData'),
    };
  });
}

/** PA-DATA: its fields are tagged [1] and [2] (RFC 4120 §5.2.7). */
export interface PaData {
  readonly padataType: number;
  readonly padataValue: Uint8Array;
}

export function paDataListAsn(list: readonly PaData[]): Asn {
  return sequenceOf(
    list.map((p) =>
      sequence([
        [1, int32(p.padataType)],
        [2, octets(p.padataValue)],
      ]),
    ),
  );
}

export function readPaDataList(node: Asn): PaData[] {
  return fromSequenceOf(node, 'PA-DATA').map((p) => {
    const f = new Fields(p, 'PA-DATA');
    return {
      padataType: toInteger(f.required(1), 'PA-DATA'),
      padataValue: toOctets(f.required(2), 'PA-DATA'),
    };
  });
}

export interface TransitedEncoding {
  readonly trType: number;
  readonly contents: Uint8Array;
}

export function transitedAsn(t: TransitedEncoding): Asn {
  return sequence([
    [0, int32(t.trType)],
    [1, octets(t.contents)],
  ]);
}

export function readTransited(node: Asn): TransitedEncoding {
  const f = new Fields(node, 'TransitedEncoding');
  return {
    trType: toInteger(f.required(0), 'TransitedEncoding'),
    contents: toOctets(f.required(1), 'TransitedEncoding'),
  };
}

/** The realm, a KerberosString. */
export const realmAsn = kerberosString;
export const readRealm = (node: Asn): string => toKerberosString(node, 'Realm');
