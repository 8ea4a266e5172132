/**
 * DER and PEM for what the Workload API sends as raw bytes: certificate chains and bundles
 * are DER certificates one after another (split here), and the private key is PKCS#8 DER,
 * which TLS in Node takes only as PEM. The key's PEM is written byte by byte into memory a
 * `Secret` owns — never through a JS string (`toString('base64')` would leave the key in
 * V8's heap until collected).
 */
import { X509Certificate } from 'node:crypto';
import { Secret } from '../../credentials/secret.js';

/** Bounds on what is read: more than a chain or bundle ever holds. */
const MAX_CERTIFICATES = 32;
const MAX_CERTIFICATE_BYTES = 64 * 1024;

/** The length of the DER element (tag, length, content) at `offset`, or undefined. */
function elementLength(der: Uint8Array, offset: number): number | undefined {
  if (der[offset] !== 0x30) return undefined; // a certificate is a SEQUENCE
  const first = der[offset + 1];
  if (first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 3) return undefined; // indefinite, or beyond the bound anyway
  let length = 0;
  for (let i = 0; i < octets; i += 1) {
    const byte = der[offset + 2 + i];
    if (byte === undefined) return undefined;
    length = length * 256 + byte;
  }
  return 2 + octets + length;
}

/**
 * The certificates of concatenated DER (leaf first, as sent), each parsed; undefined when
 * the bytes are anything else, empty, or beyond the bounds.
 */
export function derCertificates(der: unknown): X509Certificate[] | undefined {
  if (!(der instanceof Uint8Array) || der.byteLength === 0) return undefined;
  const certificates: X509Certificate[] = [];
  let offset = 0;
  while (offset < der.byteLength) {
    const length = elementLength(der, offset);
    if (
      length === undefined ||
      length > MAX_CERTIFICATE_BYTES ||
      offset + length > der.byteLength ||
      certificates.length === MAX_CERTIFICATES
    ) {
      return undefined;
    }
    try {
      certificates.push(new X509Certificate(Buffer.from(der.subarray(offset, offset + length))));
    } catch {
      return undefined;
    }
    offset += length;
  }
  return certificates;
}

const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PAD = 0x3d; // '='
const NEWLINE = 0x0a;

/** Standard base64 of `bytes` into `out` at `at`, a newline every 64 characters; the end. */
function writeBase64Lines(bytes: Uint8Array, out: Buffer, at: number): number {
  let pos = at;
  let column = 0;
  const put = (byte: number): void => {
    out[pos++] = byte;
    if (++column === 64) {
      out[pos++] = NEWLINE;
      column = 0;
    }
  };
  const sextet = (value: number): number => BASE64[value & 0x3f] ?? PAD;
  for (let i = 0; i < bytes.byteLength; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1] ?? 0;
    const c = bytes[i + 2] ?? 0;
    const left = bytes.byteLength - i;
    put(sextet(a >> 2));
    put(sextet((a << 4) | (b >> 4)));
    put(left > 1 ? sextet((b << 2) | (c >> 6)) : PAD);
    put(left > 2 ? sextet(c) : PAD);
  }
  if (column !== 0) out[pos++] = NEWLINE;
  return pos;
}

/** `der` as PEM (`-----BEGIN <label>-----` …), written straight into a Secret's own memory. */
export function pemSecret(der: Uint8Array, label: string): Secret {
  const head = Buffer.from(`-----BEGIN ${label}-----\n`);
  const tail = Buffer.from(`-----END ${label}-----\n`);
  const chars = 4 * Math.ceil(der.byteLength / 3);
  const out = Buffer.alloc(head.byteLength + chars + Math.ceil(chars / 64) + tail.byteLength);
  head.copy(out, 0);
  const end = writeBase64Lines(der, out, head.byteLength);
  tail.copy(out, end);
  return Secret.adopt(out);
}
