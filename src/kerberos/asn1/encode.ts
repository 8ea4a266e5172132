/**
 * DER building blocks for Kerberos (RFC 4120 §5), on asn1js: [APPLICATION n] and EXPLICIT
 * [n] context tags, SEQUENCEs of tagged fields, Int32/UInt32, KerberosString as a
 * GeneralString of bytes, KerberosTime as a GeneralizedTime without fractions, OCTET
 * STRINGs and 32-bit KerberosFlags. asn1js (PeculiarVentures, also under pkijs and
 * @peculiar/x509) was chosen over @peculiar/asn1-schema because Kerberos needs nothing but
 * these tags and primitives, which asn1js builds directly, without decorators or a schema
 * compiler; it is pinned exactly in package.json. asn1js emits definite, minimal lengths.
 */
import * as asn1js from 'asn1js';
import { BastionError } from '../../base/errors.js';

export type Asn = asn1js.BaseBlock;

/** The tag classes of X.690 as asn1js numbers them. */
export const UNIVERSAL = 1;
export const APPLICATION = 2;
export const CONTEXT = 3;

export function encodeInvalid(what: string): BastionError {
  return new BastionError('kerberos_encode_invalid', { details: [what] });
}

/** [APPLICATION n] around one value (constructed, as every Kerberos application tag is). */
export function application(tag: number, inner: Asn): Asn {
  return new asn1js.Constructed({
    idBlock: { tagClass: APPLICATION, tagNumber: tag },
    value: [inner],
  });
}

/** An EXPLICIT context tag [n] around one value. */
export function explicit(tag: number, inner: Asn): Asn {
  return new asn1js.Constructed({ idBlock: { tagClass: CONTEXT, tagNumber: tag }, value: [inner] });
}

/** A SEQUENCE of explicitly tagged fields, absent (undefined) ones left out. */
export function sequence(fields: readonly (readonly [number, Asn | undefined])[]): Asn {
  return new asn1js.Sequence({
    value: fields.flatMap(([tag, value]) => (value === undefined ? [] : [explicit(tag, value)])),
  });
}

/** A SEQUENCE OF. */
export function sequenceOf(items: readonly Asn[]): Asn {
  return new asn1js.Sequence({ value: [...items] });
}

/** Minimal two's-complement big-endian bytes of an integer in [-2^31, 2^32). */
function integerBytes(value: number): Buffer {
  const out = Buffer.alloc(5);
  out.writeInt32BE(0, 0);
  if (value < 0) out.writeInt32BE(value, 1);
  else out.writeUInt32BE(value, 1);
  out[0] = value < 0 ? 0xff : 0;
  let start = 0;
  while (start < 4) {
    const first = out[start] ?? 0;
    const next = out[start + 1] ?? 0;
    if ((first === 0 && next < 0x80) || (first === 0xff && next >= 0x80)) start++;
    else break;
  }
  return out.subarray(start);
}

/** Int32 (RFC 4120 §5.2.4). */
export function int32(value: number): Asn {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw encodeInvalid('Int32');
  }
  return new asn1js.Integer({ valueHex: integerBytes(value) });
}

/**
 * UInt32 (RFC 4120 §5.2.4): nonces and kvnos. Negative Int32 values are let through, since
 * MIT encodes these fields as signed; Bastion makes 31-bit nonces, the same either way.
 */
export function uint32(value: number): Asn {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw encodeInvalid('UInt32');
  }
  return new asn1js.Integer({ valueHex: integerBytes(value) });
}

/** Microseconds (RFC 4120 §5.2.4): 0 to 999999. */
export function microseconds(value: number): Asn {
  if (!Number.isInteger(value) || value < 0 || value > 999999) throw encodeInvalid('Microseconds');
  return int32(value);
}

/** KerberosString: a GeneralString whose bytes are the string's latin1 code units. */
export function kerberosString(text: string): Asn {
  if ([...text].some((c) => c.charCodeAt(0) > 0xff)) throw encodeInvalid('KerberosString');
  return new asn1js.GeneralString({ valueHex: Buffer.from(text, 'latin1') });
}

/** KerberosTime: GeneralizedTime YYYYMMDDHHMMSSZ, whole seconds (RFC 4120 §5.2.3). */
export function kerberosTime(time: Date): Asn {
  const ms = time.getTime();
  if (!Number.isFinite(ms) || ms % 1000 !== 0) throw encodeInvalid('KerberosTime');
  const iso = time.toISOString(); // 2026-11-30T19:00:00.000Z
  if (iso.length !== 24) throw encodeInvalid('KerberosTime');
  const text = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  return new asn1js.GeneralizedTime({ value: text });
}

/** OCTET STRING (asn1js keeps a view of `bytes` until it encodes). */
export function octets(bytes: Uint8Array): Asn {
  return new asn1js.OctetString({ valueHex: bytes });
}

/** KerberosFlags: a 32-bit BIT STRING, bit 0 the most significant (RFC 4120 §5.2.8). */
export function kerberosFlags(bits: number): Asn {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff)
    throw encodeInvalid('KerberosFlags');
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(bits);
  return new asn1js.BitString({ valueHex: bytes, unusedBits: 0 });
}

/** The DER bytes of a value, in a buffer of its own. */
export function der(value: Asn): Buffer {
  const ab = value.toBER(false);
  return Buffer.from(ab);
}
