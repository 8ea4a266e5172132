/**
 * The envelope every Kerberos message shares (RFC 4120 §5.4–§5.9): [APPLICATION msg-type]
 * around a SEQUENCE whose first two fields are pvno (5) and msg-type — at tags 0 and 1, or
 * 1 and 2 in KDC-REQ. Written once here, checked once on reading.
 */
import { applicationFields, expectInteger, type Fields } from '../asn1/decode.js';
import { application, der, int32, sequence, type Asn } from '../asn1/encode.js';
import { PVNO } from './constants.js';

type Field = readonly [number, Asn | undefined];

/** The DER of a message of `msgType` with `fields` after pvno and msg-type. */
export function encodeMessage(msgType: number, fields: readonly Field[], first = 0): Buffer {
  return der(
    application(msgType, sequence([[first, int32(PVNO)], [first + 1, int32(msgType)], ...fields])),
  );
}

/** The fields of a message of `msgType`, after checking its tag, pvno and msg-type. */
export function readMessage(node: Asn, msgType: number, what: string, first = 0): Fields {
  const f = applicationFields(node, msgType, what);
  expectInteger(f.required(first), PVNO, what);
  expectInteger(f.required(first + 1), msgType, what);
  return f;
}
