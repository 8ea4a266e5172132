/**
 * Reading Kerberos DER (RFC 4120 §5) on asn1js, failing closed: the input is bounded in
 * size, depth and node count before asn1js sees it; OCTET STRINGs are never parsed as
 * embedded ASN.1; every accessor checks the tag class, number and form it expects; and
 * `decodeStrict` re-encodes what it decoded and refuses input that differs, so only DER —
 * definite minimal lengths, minimal integers, no constructed strings, no unknown or
 * reordered fields — is accepted. Every failure is `kerberos_der_invalid` naming the
 * structure (a name of Bastion's, never input).
 */
import * as asn1js from 'asn1js';
import { BastionError } from '../../base/errors.js';
import { Secret } from '../../credentials/secret.js';
import { APPLICATION, CONTEXT, UNIVERSAL, type Asn } from './encode.js';

/** The largest message Bastion decodes: a ticket with a PAC is a few KiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export function derInvalid(what: string): BastionError {
  return new BastionError('kerberos_der_invalid', { details: [what] });
}

/** Parses exactly one DER value spanning all of `bytes`. */
export function parse(bytes: Uint8Array, what: string): Asn {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) throw new BastionError('kerberos_message_too_large');
  const { offset, result } = asn1js.fromBER(bytes, {
    maxDepth: 32,
    maxNodes: 4096,
    maxContentLength: MAX_MESSAGE_BYTES,
    parseEmbedded: false,
  });
  if (offset !== bytes.byteLength || result.error !== '' || !(result instanceof asn1js.BaseBlock)) {
    throw derInvalid(what);
  }
  return result;
}

/** The Secrets made by the decoding in progress, disposed if it fails. */
let made: Secret[] | undefined;

/** A key found while decoding, copied into a Secret that a failed decoding disposes. */
export function toSecret(node: Asn, what: string): Secret {
  const secret = Secret.copyOf(toOctets(node, what));
  made?.push(secret);
  return secret;
}

/**
 * Decodes with `decode`, then refuses unless `encode` gives back the very same bytes. The
 * re-encoding is zero-filled after the comparison (it may hold keys); on any failure the
 * keys decoded so far are disposed.
 */
export function decodeStrict<T>(
  bytes: Uint8Array,
  what: string,
  decode: (node: Asn) => T,
  encode: (value: T) => Uint8Array,
): T {
  const outer = made;
  const mine: Secret[] = [];
  made = mine;
  try {
    const value = decode(parse(bytes, what));
    const again = encode(value);
    const same = Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(bytes);
    again.fill(0);
    if (!same) throw derInvalid(what);
    return value;
  } catch (err) {
    for (const s of mine) s.dispose();
    if (err instanceof BastionError && err.code !== 'kerberos_encode_invalid') throw err;
    throw derInvalid(what);
  } finally {
    made = outer;
  }
}

/** Refuses an INTEGER field that is not `expected` (pvno, msg-type, tkt-vno). */
export function expectInteger(node: Asn, expected: number, what: string): void {
  if (toInteger(node, what) !== expected) throw derInvalid(what);
}

function is(node: Asn, tagClass: number, tagNumber: number, constructed: boolean): boolean {
  const id = node.idBlock;
  return id.tagClass === tagClass && id.tagNumber === tagNumber && id.isConstructed === constructed;
}

function children(node: Asn): Asn[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  if (!Array.isArray(value)) throw derInvalid('constructed value');
  return value as Asn[];
}

function primitiveBytes(node: Asn, tagNumber: number, what: string): Buffer {
  if (!is(node, UNIVERSAL, tagNumber, false)) throw derInvalid(what);
  const view = (node.valueBlock as { valueHexView?: Uint8Array }).valueHexView;
  if (!(view instanceof Uint8Array)) throw derInvalid(what);
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** The value inside [APPLICATION tag]. */
export function fromApplication(node: Asn, tag: number, what: string): Asn {
  const inner = is(node, APPLICATION, tag, true) ? children(node) : [];
  if (inner.length !== 1 || inner[0] === undefined) throw derInvalid(what);
  return inner[0];
}

/** The fields of the SEQUENCE inside [APPLICATION tag]. */
export function applicationFields(node: Asn, tag: number, what: string): Fields {
  return new Fields(fromApplication(node, tag, what), what);
}

/** The application tag number of a node, or undefined (to tell messages apart). */
export function applicationTag(node: Asn): number | undefined {
  return node.idBlock.tagClass === APPLICATION ? node.idBlock.tagNumber : undefined;
}

/** The items of a SEQUENCE OF. */
export function fromSequenceOf(node: Asn, what: string): Asn[] {
  if (!is(node, UNIVERSAL, 16, true)) throw derInvalid(what);
  return children(node);
}

/** A SEQUENCE of explicitly tagged fields, read by tag. */
export class Fields {
  readonly #byTag = new Map<number, Asn>();

  constructor(
    node: Asn,
    private readonly what: string,
  ) {
    let last = -1;
    for (const field of fromSequenceOf(node, what)) {
      const inner =
        field.idBlock.tagClass === CONTEXT && field.idBlock.isConstructed ? children(field) : [];
      const tag = field.idBlock.tagNumber;
      if (inner.length !== 1 || inner[0] === undefined || tag <= last) throw derInvalid(what);
      this.#byTag.set(tag, inner[0]);
      last = tag;
    }
  }

  required(tag: number): Asn {
    const value = this.#byTag.get(tag);
    if (value === undefined) throw derInvalid(this.what);
    return value;
  }

  optional(tag: number): Asn | undefined {
    return this.#byTag.get(tag);
  }
}

/** An INTEGER within [-2^31, 2^32) (Int32, UInt32, Microseconds). */
export function toInteger(node: Asn, what: string): number {
  const bytes = primitiveBytes(node, 2, what);
  if (bytes.byteLength === 0) throw derInvalid(what);
  let value = (bytes[0] ?? 0) >= 0x80 ? -1 : 0;
  for (const b of bytes) value = value * 256 + b;
  if (value < -0x80000000 || value > 0xffffffff) throw derInvalid(what);
  return value;
}

/** A KerberosString's bytes as latin1 code units. */
export function toKerberosString(node: Asn, what: string): string {
  return primitiveBytes(node, 27, what).toString('latin1');
}

/** A KerberosTime: exactly YYYYMMDDHHMMSSZ, a real UTC time. */
export function toKerberosTime(node: Asn, what: string): Date {
  const text = primitiveBytes(node, 24, what).toString('latin1');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) throw derInvalid(what);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (
    time.getUTCFullYear() !== y ||
    time.getUTCMonth() !== mo - 1 ||
    time.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    throw derInvalid(what);
  }
  return time;
}

/** An OCTET STRING's bytes: a view into the decoded input, not a copy. */
export function toOctets(node: Asn, what: string): Buffer {
  return primitiveBytes(node, 4, what);
}

/** KerberosFlags: exactly 32 bits, as RFC 4120 §5.2.8 says to send them. */
export function toKerberosFlags(node: Asn, what: string): number {
  const bytes = primitiveBytes(node, 3, what);
  const unused = (node.valueBlock as { unusedBits?: number }).unusedBits;
  if (unused !== 0 || bytes.byteLength !== 4) throw derInvalid(what);
  return bytes.readUInt32BE(0);
}
