/**
 * RFC 4121 §4.2.6.2 Wrap tokens with confidentiality, in the header/data split WinRM's
 * message encryption uses (MS-WSMV §2.2.9.1.1, gss_wrap_iov with HEADER|DATA|PADDING as
 * MIT and Windows build it): the token is header(16) | E(confounder | data | header copy)
 * | HMAC, rotated right by RRC = 16 + HMAC length so that everything but the data's own
 * ciphertext sits in the "GSS header". EC is 0 (AES needs no padding); a peer's EC filler
 * is accepted and stripped. Unwrap refuses, in this order: a malformed token, the wrong
 * direction (a token must come from the other side), no confidentiality, the wrong subkey
 * flag, a sequence number other than the next expected (replay, reordering, loss), a failed
 * integrity check, and a header copy that differs from the header.
 */
import { BastionError } from '../../base/errors.js';
import { decrypt, encrypt } from '../crypto/cipher.js';
import { profileOfKey, type KerberosKey } from '../crypto/enctypes.js';

/** RFC 4121 §2: key usages of Wrap tokens. */
export const GSS_USAGE = {
  acceptor_seal: 22,
  acceptor_sign: 23,
  initiator_seal: 24,
  initiator_sign: 25,
} as const;

/** RFC 4121 §4.2.2: the Flags octet. */
export const WRAP_FLAG = { sent_by_acceptor: 0x01, sealed: 0x02, acceptor_subkey: 0x04 } as const;

const TOKEN_HEADER = 16;
const CONFOUNDER = 16;
const TOK_ID_WRAP = 0x0504;
/** The largest message wrapped or unwrapped: WinRM envelopes are far smaller (MaxEnvelopeSize). */
export const MAX_WRAP_BYTES = 8 * 1024 * 1024;

export interface WrapParameters {
  readonly key: KerberosKey;
  readonly usage: number;
  readonly flags: number;
  readonly sequence: bigint;
}

/** A wrap token split for MS-WSMV: the GSS header (token header + RRC bytes) and the data. */
export interface WrappedMessage {
  readonly header: Buffer;
  readonly data: Buffer;
}

function tokenHeader(flags: number, ec: number, rrc: number, sequence: bigint): Buffer {
  const h = Buffer.alloc(TOKEN_HEADER);
  h.writeUInt16BE(TOK_ID_WRAP, 0);
  h[2] = flags;
  h[3] = 0xff;
  h.writeUInt16BE(ec, 4);
  h.writeUInt16BE(rrc, 6);
  h.writeBigUInt64BE(BigInt.asUintN(64, sequence), 8);
  return h;
}

/** The trailer rotated into the header: the encrypted header copy and the HMAC. */
export function rrcOf(key: KerberosKey): number {
  return TOKEN_HEADER + profileOfKey(key).macBytes;
}

/**
 * Encrypts `plaintext` into a wrap token split as header | data (low level: no state; the
 * caller's flags should include Sealed, as this always encrypts).
 */
export function sealWrapToken(p: WrapParameters, plaintext: Uint8Array): WrappedMessage {
  if (plaintext.byteLength > MAX_WRAP_BYTES) throw new BastionError('kerberos_wrap_too_large');
  const rrc = rrcOf(p.key);
  // The encrypted copy carries RRC 0 (RFC 4121 §4.2.5); the outer header the rotation.
  const copy = tokenHeader(p.flags, 0, 0, p.sequence);
  const c = encrypt(p.key, p.usage, Buffer.concat([plaintext, copy]));
  const rotated = Buffer.concat([
    c.subarray(c.byteLength - rrc),
    c.subarray(0, c.byteLength - rrc),
  ]);
  const outer = tokenHeader(p.flags, 0, rrc, p.sequence);
  const split = CONFOUNDER + rrc;
  return {
    header: Buffer.concat([outer, rotated.subarray(0, split)]),
    data: Buffer.from(rotated.subarray(split)),
  };
}

export interface OpenedToken {
  readonly flags: number;
  readonly sequence: bigint;
}

function malformed(): BastionError {
  return new BastionError('kerberos_wrap_invalid');
}

/** The token header's fields, checked for shape only. */
export function readWrapHeader(header: Uint8Array): OpenedToken & { ec: number; rrc: number } {
  const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (h.byteLength < TOKEN_HEADER) throw malformed();
  if (h.readUInt16BE(0) !== TOK_ID_WRAP || h[3] !== 0xff) throw malformed();
  const flags = h[2] ?? 0;
  if ((flags & ~0x07) !== 0) throw malformed();
  return { flags, ec: h.readUInt16BE(4), rrc: h.readUInt16BE(6), sequence: h.readBigUInt64BE(8) };
}

/**
 * Opens a sealed token (header | data) with `key` for `usage`, after the caller checked the
 * header's flags and sequence: rotates back by RRC, decrypts (integrity), compares the
 * encrypted header copy and strips the EC filler.
 */
export function openWrapToken(
  key: KerberosKey,
  usage: number,
  header: Uint8Array,
  data: Uint8Array,
): Buffer {
  if (header.byteLength + data.byteLength > MAX_WRAP_BYTES + 1024) {
    throw new BastionError('kerberos_wrap_too_large');
  }
  const fields = readWrapHeader(header);
  const outer = Buffer.from(header.subarray(0, TOKEN_HEADER));
  const body = Buffer.concat([header.subarray(TOKEN_HEADER), data]);
  if (body.byteLength === 0) throw malformed();
  const shift = fields.rrc % body.byteLength;
  const c = Buffer.concat([body.subarray(shift), body.subarray(0, shift)]);
  const plain = decrypt(key, usage, c);
  try {
    return plain.use((bytes) => {
      if (bytes.byteLength < TOKEN_HEADER + fields.ec) throw malformed();
      const copy = bytes.subarray(bytes.byteLength - TOKEN_HEADER);
      // The copy's RRC is 0 by the RFC; MIT and Windows differ there, so it is not compared.
      if (!copy.subarray(0, 6).equals(outer.subarray(0, 6))) throw malformed();
      if (!copy.subarray(8).equals(outer.subarray(8))) throw malformed();
      return Buffer.from(bytes.subarray(0, bytes.byteLength - TOKEN_HEADER - fields.ec));
    });
  } finally {
    plain.dispose();
  }
}
