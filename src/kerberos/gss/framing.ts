/**
 * The GSS-API token framings around Kerberos: RFC 2743 §3.1's InitialContextToken
 * ([APPLICATION 0] = 0x60, the mechanism's OID, then the mechanism's bytes) with RFC 4121
 * §4.1's two-byte TOK_ID (01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR); and SPNEGO
 * (RFC 4178 §4.2): NegTokenInit offering Kerberos with the AP-REQ as its optimistic
 * mechToken, and the acceptor's NegTokenResp. Hand-written DER: these are a handful of
 * fixed tags; reading is bounded and exact (every length checked, nothing left over).
 */
import { BastionError } from '../../base/errors.js';

/** DER of the OIDs (tag 06 included). */
export const OID = {
  /** 1.2.840.113554.1.2.2, RFC 1964's Kerberos V5. */
  krb5: Buffer.from('06092a864886f712010202', 'hex'),
  /** 1.2.840.48018.1.2.2, the one Windows once sent by mistake; still answered with. */
  msKrb5: Buffer.from('06092a864882f712010202', 'hex'),
  /** 1.3.6.1.5.5.2, SPNEGO. */
  spnego: Buffer.from('06062b0601050502', 'hex'),
} as const;

export const TOK_ID = { ap_req: 0x0100, ap_rep: 0x0200, krb_error: 0x0300 } as const;

/** RFC 4178 §4.2.2's negState. */
export const NEG_STATE = { accept_completed: 0, accept_incomplete: 1, reject: 2 } as const;

const MAX_TOKEN_BYTES = 64 * 1024;

function invalid(): BastionError {
  return new BastionError('kerberos_gss_token_invalid');
}

/** One DER TLV with a definite, minimal length. */
export function tlv(tag: number, ...content: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.byteLength;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

export interface Tlv {
  readonly tag: number;
  readonly content: Buffer;
  /** The offset just after this TLV. */
  readonly end: number;
}

/** Reads the TLV at `offset`, refusing indefinite, non-minimal or overlong lengths. */
export function readTlv(bytes: Buffer, offset: number): Tlv {
  if (offset + 2 > bytes.byteLength) throw invalid();
  const tag = bytes[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw invalid(); // no high tag numbers in these tokens
  let at = offset + 1;
  const first = bytes[at++] ?? 0;
  let length = first;
  if (first >= 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 3 || at + count > bytes.byteLength) throw invalid();
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[at++] ?? 0);
    if (length < 0x80 || (count > 1 && length < 256 ** (count - 1))) throw invalid();
  }
  if (at + length > bytes.byteLength) throw invalid();
  return { tag, content: bytes.subarray(at, at + length), end: at + length };
}

/** Reads a TLV that must span all of `bytes` and carry `tag`. */
export function readWhole(bytes: Buffer, tag: number): Buffer {
  const t = readTlv(bytes, 0);
  if (t.tag !== tag || t.end !== bytes.byteLength) throw invalid();
  return t.content;
}

/** The krb5 InitialContextToken of `message` (an AP-REQ, usually). */
export function frameKrb5(tokId: number, message: Uint8Array): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(tokId);
  return tlv(0x60, OID.krb5, id, message);
}

/** TOK_ID and the message of a krb5 InitialContextToken (either Kerberos OID). */
export function unframeKrb5(token: Uint8Array): {
  readonly tokId: number;
  readonly message: Buffer;
} {
  if (token.byteLength > MAX_TOKEN_BYTES) throw invalid();
  const inner = readWhole(Buffer.from(token.buffer, token.byteOffset, token.byteLength), 0x60);
  const oid = inner.subarray(0, OID.krb5.byteLength);
  if (!oid.equals(OID.krb5) && !oid.equals(OID.msKrb5)) throw invalid();
  const rest = inner.subarray(oid.byteLength);
  if (rest.byteLength < 2) throw invalid();
  return { tokId: rest.readUInt16BE(0), message: rest.subarray(2) };
}

/** SPNEGO's NegTokenInit offering Kerberos V5, with `mechToken` as the optimistic token. */
export function spnegoInit(mechToken: Uint8Array): Buffer {
  const mechTypes = tlv(0xa0, tlv(0x30, OID.krb5));
  const negTokenInit = tlv(0xa0, tlv(0x30, mechTypes, tlv(0xa2, tlv(0x04, mechToken))));
  return tlv(0x60, OID.spnego, negTokenInit);
}

export interface NegTokenResp {
  readonly negState?: number | undefined;
  readonly supportedMech?: Buffer | undefined;
  readonly responseToken?: Buffer | undefined;
  readonly mechListMIC?: Buffer | undefined;
}

/** Reads a NegTokenResp ([1] SEQUENCE of [0]–[3], each optional, in order). */
export function readNegTokenResp(token: Uint8Array): NegTokenResp {
  if (token.byteLength > MAX_TOKEN_BYTES) throw invalid();
  const outer = readWhole(Buffer.from(token.buffer, token.byteOffset, token.byteLength), 0xa1);
  const seq = readWhole(outer, 0x30);
  const fields = new Map<number, Buffer>();
  let at = 0;
  let last = -1;
  while (at < seq.byteLength) {
    const field = readTlv(seq, at);
    const n = field.tag - 0xa0;
    if (n < 0 || n > 3 || n <= last) throw invalid();
    fields.set(n, field.content);
    last = n;
    at = field.end;
  }
  const state = fields.get(0);
  const enumerated = state === undefined ? undefined : readWhole(state, 0x0a);
  if (enumerated !== undefined && enumerated.byteLength !== 1) throw invalid();
  const mech = fields.get(1);
  if (mech !== undefined) readWhole(mech, 0x06);
  const response = fields.get(2);
  const mic = fields.get(3);
  return {
    negState: enumerated?.[0],
    supportedMech: mech,
    responseToken: response === undefined ? undefined : readWhole(response, 0x04),
    mechListMIC: mic === undefined ? undefined : readWhole(mic, 0x04),
  };
}
