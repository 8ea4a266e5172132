/**
 * Strict DER, failing closed: every deviation MIT's reference encodings could be bent into
 * (a long-form length where the short form fits, an indefinite length, a padded integer,
 * a constructed OCTET STRING, trailing bytes, a truncation, another application tag,
 * fields out of order, an unknown field, a time with fractions, a 33-bit flags field, an
 * oversized or over-deep input) is `kerberos_der_invalid` or `kerberos_message_too_large`;
 * and, with fast-check, random messages round-trip and random corruptions of a valid one
 * either decode to the same bytes or are refused with a kerberos_ code, never anything else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { BastionError } from '../../src/base/errors.js';
import {
  Fields,
  MAX_MESSAGE_BYTES,
  parse,
  toInteger,
  toKerberosFlags,
  toKerberosTime,
  toOctets,
} from '../../src/kerberos/asn1/decode.js';
import { decodeKdcReq, encodeKdcReq, type KdcReq } from '../../src/kerberos/messages/kdc-req.js';
import {
  decodeKrbError,
  encodeKrbError,
  type KrbError,
} from '../../src/kerberos/messages/krb-error.js';
import { decodePaEncTsEnc } from '../../src/kerberos/messages/padata.js';
import { decodeTicket, encodeTicket, type Ticket } from '../../src/kerberos/messages/ticket.js';
import { runs } from '../helpers/property.js';
import { MIT_DER } from './mit-asn1-vectors.js';
import { hex } from './vectors.js';

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;
const ticket = hex(MIT_DER['ticket'] ?? '');
const paEncTs = hex(MIT_DER['pa_enc_ts'] ?? '');

/** The ticket with its outer [APPLICATION 1] length re-spelled in `form`. */
function respell(form: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x61), form, ticket.subarray(2)]);
}

/** The control for each refusal: the input is well-formed BER, so what refuses it is DER. */
function refusedDer(decode: (b: Uint8Array) => unknown, input: Buffer, why: string): void {
  const ber = asn1js.fromBER(input);
  assert.ok(ber.offset === input.byteLength && ber.result.error === '', `${why}: well-formed BER`);
  assert.throws(() => decode(input), code('kerberos_der_invalid'), why);
}

/** `bytes` with `insert` in place of `remove` bytes at `at`, and the lengths at `lengths` grown to match. */
function splice(
  bytes: Buffer,
  at: number,
  remove: number,
  insert: Buffer,
  lengths: number[],
): Buffer {
  const out = Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at + remove)]);
  for (const i of lengths) out[i] = (out[i] ?? 0) + insert.byteLength - remove;
  return out;
}

describe('strict DER', () => {
  it('accepts the reference encodings (the control for every refusal below)', () => {
    assert.equal(decodeTicket(ticket).realm, 'ATHENA.MIT.EDU');
    assert.equal(decodePaEncTsEnc(paEncTs).pausec, 123456);
  });

  it('refuses non-minimal and indefinite lengths', () => {
    refusedDer(decodeTicket, respell(hex('81 5C')), 'long form for a short length');
    refusedDer(decodeTicket, respell(hex('82 00 5C')), 'long form with a leading zero');
    const indefinite = Buffer.concat([Buffer.of(0x61, 0x80), ticket.subarray(2), Buffer.of(0, 0)]);
    refusedDer(decodeTicket, indefinite, 'indefinite length');
  });

  it('refuses a padded integer, a constructed OCTET STRING, trailing bytes and truncations', () => {
    // tkt-vno [0] INTEGER 5 spelled 02 02 00 05, inside [APPLICATION 1] and its SEQUENCE.
    refusedDer(decodeTicket, splice(ticket, 6, 3, hex('02 02 00 05'), [1, 3, 5]), 'padded integer');
    // enc-part's cipher as a constructed OCTET STRING holding the primitive one.
    const at = ticket.indexOf(hex('04 15'));
    const lengths = [1, 3, at - 1, at - 13, at - 15];
    assert.deepEqual(
      lengths.map((i) => ticket[i]),
      [0x5c, 0x5a, 0x17, 0x23, 0x25],
    );
    refusedDer(
      decodeTicket,
      splice(ticket, at, 0, hex('24 17'), lengths),
      'constructed OCTET STRING',
    );
    assert.throws(
      () => decodeTicket(Buffer.concat([ticket, Buffer.of(0)])),
      code('kerberos_der_invalid'),
    );
    for (let cut = 0; cut < ticket.byteLength; cut++) {
      assert.throws(
        () => decodeTicket(ticket.subarray(0, cut)),
        code('kerberos_der_invalid'),
        `cut ${cut}`,
      );
    }
  });

  it('refuses another application tag, reordered or unknown fields, fractional times, 33-bit flags', () => {
    const other = Buffer.from(ticket);
    other[0] = 0x62; // [APPLICATION 2]: an Authenticator's tag
    refusedDer(decodeTicket, other, 'another application tag');
    const usec = hex('A1 05 02 03 01 E2 40');
    const reordered = Buffer.concat([hex('30 1A'), usec, paEncTs.subarray(2, 2 + 19)]);
    refusedDer(decodePaEncTsEnc, reordered, 'fields out of order');
    refusedDer(
      decodePaEncTsEnc,
      splice(paEncTs, paEncTs.byteLength, 0, hex('A5 03 02 01 00'), [1]),
      'unknown field [5]',
    );
    const fraction = hex('30 15 A0 13 18 11 31 39 39 34 30 36 31 30 30 36 30 33 31 37 2E 35 5A');
    refusedDer(decodePaEncTsEnc, fraction, 'fractional seconds');
    const req = hex(MIT_DER['as_req(optionals NULL except server)'] ?? '');
    const at = req.indexOf(hex('A0 07 03 05 00'));
    refusedDer(
      decodeKdcReq,
      splice(req, at, 9, hex('A0 08 03 06 00 FE DC BA 90 00'), [1, 3, at - 1, at - 3]),
      '33-bit flags',
    );
  });

  it('each reader refuses on its own, without the re-encoding behind it', () => {
    const der = (text: string) => parse(hex(text), 'test');
    assert.equal(toKerberosFlags(der('03 05 00 FE DC BA 90'), 'f'), 0xfedcba90, 'control');
    assert.throws(
      () => toKerberosFlags(der('03 06 00 FE DC BA 90 00'), 'f'),
      code('kerberos_der_invalid'),
    );
    assert.throws(
      () => toKerberosFlags(der('03 05 01 FE DC BA 90'), 'f'),
      code('kerberos_der_invalid'),
    );
    const time = (s: string) =>
      der(`18 ${s.length.toString(16).padStart(2, '0')} ${Buffer.from(s).toString('hex')}`);
    assert.deepEqual(
      toKerberosTime(time('19940610060317Z'), 't'),
      new Date('1994-06-10T06:03:17Z'),
    );
    for (const bad of [
      '19940610060317.5Z',
      '19941310060317Z',
      '19940231060317Z',
      '19940610250317Z',
      '199406100603Z',
    ]) {
      assert.throws(() => toKerberosTime(time(bad), 't'), code('kerberos_der_invalid'), bad);
    }
    assert.equal(
      new Fields(der('30 0A A0 03 02 01 05 A1 03 02 01 05'), 's').optional(1) !== undefined,
      true,
      'control',
    );
    assert.throws(
      () => new Fields(der('30 0A A1 03 02 01 05 A0 03 02 01 05'), 's'),
      code('kerberos_der_invalid'),
    );
    assert.throws(
      () => new Fields(der('30 0A A0 03 02 01 05 A0 03 02 01 05'), 's'),
      code('kerberos_der_invalid'),
    );
    assert.throws(
      () => toInteger(der('02 06 01 00 00 00 00 00'), 'i'),
      code('kerberos_der_invalid'),
    );
    assert.equal(toInteger(der('02 05 00 FF FF FF FF'), 'i'), 0xffffffff, 'control');
    assert.throws(() => toOctets(der('24 04 04 02 01 02'), 'o'), code('kerberos_der_invalid'));
  });

  it('refuses oversized and over-deep input before walking it', () => {
    assert.throws(
      () => decodeTicket(Buffer.alloc(MAX_MESSAGE_BYTES + 1)),
      code('kerberos_message_too_large'),
    );
    const nested = (depth: number) => {
      let out = hex('05 00');
      for (let i = 0; i < depth; i++) out = Buffer.concat([Buffer.of(0x30, out.byteLength), out]);
      return out;
    };
    assert.ok(parse(nested(30), 'nested'), 'control: 30 levels parse');
    assert.throws(() => parse(nested(60), 'nested'), code('kerberos_der_invalid'), '60 levels');
    refusedDer(decodeTicket, nested(60), '60 nested SEQUENCEs');
  });
});

const name = fc.record({
  nameType: fc.integer({ min: -5, max: 10 }),
  components: fc.array(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }), {
    minLength: 1,
    maxLength: 3,
  }),
});
const realm = fc.stringMatching(/^[A-Z][A-Z.]{0,20}$/);
const time = fc.integer({ min: 0, max: 4102444799 }).map((s) => new Date(s * 1000));
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const ticketArb: fc.Arbitrary<Ticket> = fc.record({
  realm,
  sname: name,
  encPart: fc.record({
    etype: fc.integer({ min: -100, max: 100 }),
    kvno: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    cipher: bytes(64),
  }),
});
const krbErrorArb: fc.Arbitrary<KrbError> = fc.record({
  ctime: fc.option(time, { nil: undefined }),
  cusec: fc.option(fc.integer({ min: 0, max: 999999 }), { nil: undefined }),
  stime: time,
  susec: fc.integer({ min: 0, max: 999999 }),
  errorCode: fc.integer({ min: 0, max: 100 }),
  crealm: fc.option(realm, { nil: undefined }),
  cname: fc.option(name, { nil: undefined }),
  realm,
  sname: name,
  eText: fc.option(
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
    { nil: undefined },
  ),
  eData: fc.option(bytes(20), { nil: undefined }),
});
const kdcReqArb: fc.Arbitrary<KdcReq> = fc.record({
  msgType: fc.constantFrom(10 as const, 12 as const),
  padata: fc.option(
    fc.array(fc.record({ padataType: fc.integer({ min: 0, max: 200 }), padataValue: bytes(16) }), {
      maxLength: 3,
    }),
    { nil: undefined },
  ),
  reqBody: fc.record({
    kdcOptions: fc.integer({ min: 0, max: 0xffffffff }),
    cname: fc.option(name, { nil: undefined }),
    realm,
    sname: fc.option(name, { nil: undefined }),
    from: fc.option(time, { nil: undefined }),
    till: time,
    rtime: fc.option(time, { nil: undefined }),
    nonce: fc.integer({ min: 0, max: 0x7fffffff }),
    etype: fc.array(fc.integer({ min: -200, max: 200 }), { maxLength: 5 }),
    addresses: fc.option(
      fc.array(fc.record({ addrType: fc.integer({ min: 0, max: 30 }), address: bytes(16) }), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
    encAuthorizationData: fc.constant(undefined),
    additionalTickets: fc.option(fc.array(ticketArb, { maxLength: 2 }), { nil: undefined }),
  }),
});

function roundTrips<T>(
  arb: fc.Arbitrary<T>,
  encode: (v: T) => Buffer,
  decode: (b: Uint8Array) => T,
): void {
  fc.assert(
    fc.property(arb, (value) => {
      const der = encode(value);
      assert.deepEqual(encode(decode(der)), der);
    }),
    runs(150),
  );
}

function corruptionsFailClosed<T>(
  arb: fc.Arbitrary<T>,
  encode: (v: T) => Buffer,
  decode: (b: Uint8Array) => T,
): void {
  fc.assert(
    fc.property(arb, fc.nat(), fc.integer({ min: 1, max: 255 }), (value, at, xor) => {
      const der = Buffer.from(encode(value));
      der[at % der.byteLength] = (der[at % der.byteLength] ?? 0) ^ xor;
      try {
        assert.deepEqual(encode(decode(der)), der, 'what decodes re-encodes to the same bytes');
      } catch (err) {
        assert.ok(err instanceof BastionError && err.code.startsWith('kerberos_'), String(err));
      }
    }),
    runs(300),
  );
}

describe('DER properties (fast-check)', () => {
  it('Ticket, KRB-ERROR and KDC-REQ round-trip byte for byte', () => {
    roundTrips(ticketArb, encodeTicket, decodeTicket);
    roundTrips(krbErrorArb, encodeKrbError, decodeKrbError);
    roundTrips(kdcReqArb, encodeKdcReq, decodeKdcReq);
  });

  it('a corrupted byte anywhere decodes to the same bytes or is refused with a kerberos_ code', () => {
    corruptionsFailClosed(ticketArb, encodeTicket, decodeTicket);
    corruptionsFailClosed(krbErrorArb, encodeKrbError, decodeKrbError);
    corruptionsFailClosed(kdcReqArb, encodeKdcReq, decodeKdcReq);
  });
});
