/**
 * MS-WSMV §2.2.9.1.1 message encryption: each SOAP body travels as a `multipart/encrypted`
 * body whose first part names the protocol (by the authentication scheme) and the SOAP
 * length, and whose octet-stream part is a 4-byte little-endian GSS header length, the GSS
 * header, then the encrypted data (an RFC 4121 wrap token split as wrap_iov makes it, see
 * src/kerberos/gss/wrap.ts). Replies are read strictly: bounded size, one part of this
 * connection's protocol, a sane header length, and a plaintext of exactly the declared
 * Length. Windows' `multipart/x-multi-encrypted` (bodies over 16 KiB, CredSSP) is not read.
 */
import { BastionError } from '../../base/errors.js';
import type { GssScheme } from '../../kerberos/gss/initiator.js';
import type { GssSession } from '../../kerberos/gss/session.js';

export const ENCRYPTED_BOUNDARY = 'Encrypted Boundary';
const PROTOCOL: Record<GssScheme, string> = {
  Negotiate: 'application/HTTP-SPNEGO-session-encrypted',
  Kerberos: 'application/HTTP-Kerberos-session-encrypted',
};
/** A GSS header is 16 + 16 + RRC bytes (76 at most for AES); anything far larger is not one. */
const MAX_GSS_HEADER = 1024;
const SUFFIX = Buffer.from(`--${ENCRYPTED_BOUNDARY}--\r\n`, 'latin1');
const PREFIX = new RegExp(
  `^--${ENCRYPTED_BOUNDARY}\\r\\n[ \\t]*Content-Type: (application/HTTP-[A-Za-z]+-session-encrypted)\\r\\n` +
    '[ \\t]*OriginalContent: type=application/soap\\+xml;charset=UTF-8;Length=(\\d{1,9})\\r\\n' +
    `--${ENCRYPTED_BOUNDARY}\\r\\n[ \\t]*Content-Type: application/octet-stream\\r\\n`,
  'i',
);

/** The HTTP Content-Type of an encrypted body under `scheme`. */
export function encryptedContentType(scheme: GssScheme): string {
  return `multipart/encrypted;protocol="${PROTOCOL[scheme]}";boundary="${ENCRYPTED_BOUNDARY}"`;
}

/** The multipart/encrypted body of one SOAP message, sealed in `session`. */
export function encryptBody(session: GssSession, scheme: GssScheme, soap: Uint8Array): Buffer {
  const { header, data } = session.wrap(soap);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.byteLength);
  return Buffer.concat([
    Buffer.from(
      `--${ENCRYPTED_BOUNDARY}\r\n\tContent-Type: ${PROTOCOL[scheme]}\r\n` +
        `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${soap.byteLength}\r\n` +
        `--${ENCRYPTED_BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n`,
      'latin1',
    ),
    length,
    header,
    data,
    SUFFIX,
  ]);
}

function malformed(): BastionError {
  return new BastionError('winrm_encrypted_malformed');
}

/** The SOAP message in an encrypted reply body of at most `maxBytes`. */
export function decryptBody(
  session: GssSession,
  scheme: GssScheme,
  body: Uint8Array,
  maxBytes: number,
): Buffer {
  if (body.byteLength > maxBytes) throw new BastionError('winrm_reply_too_large');
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const m = PREFIX.exec(bytes.subarray(0, 512).toString('latin1'));
  if (m === null || m[1]?.toLowerCase() !== PROTOCOL[scheme].toLowerCase()) throw malformed();
  const start = m[0].length;
  const end = bytes.byteLength - SUFFIX.byteLength;
  if (end < start + 4 || !bytes.subarray(end).equals(SUFFIX)) throw malformed();
  const stream = bytes.subarray(start, end);
  const headerLength = stream.readUInt32LE(0);
  if (headerLength > MAX_GSS_HEADER || headerLength > stream.byteLength - 4) throw malformed();
  const soap = session.unwrap(
    stream.subarray(4, 4 + headerLength),
    stream.subarray(4 + headerLength),
  );
  if (soap.byteLength !== Number(m[2])) {
    throw new BastionError('winrm_encrypted_length_mismatch');
  }
  return soap;
}
