/**
 * The headers of an HTTP request: the caller's, checked so that they cannot inject
 * headers, reframe the message or replace the token, and the broker's own `authorization`
 * header, built from the credential only as the request is made.
 */
import type { Secret } from '../../credentials/secret.js';
import { HttpTransportError } from './errors.js';

export const MAX_REQUEST_HEADERS = 32;
const MAX_HEADER_NAME = 128;
const MAX_HEADER_VALUE = 8192;
const MAX_HEADER_BYTES = 16 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CRLF_NUL = /[\r\n\0]/;
// What node:http itself accepts in a value (HTAB, visible ASCII, obs-text).
const VALUE_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Hop-by-hop and framing headers (the broker frames the message), `host` (the target
 * decides it), `expect` (would stall the request on 100-continue) and `authorization`
 * (set only by the broker, from the credential).
 */
const FORBIDDEN_HEADERS = new Set([
  'authorization',
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Checks a caller's request headers and returns them with lower-case names. Throws
 * `http_header_invalid` (bad name or value, CR/LF/NUL, duplicates, too many or too large)
 * or `http_header_forbidden`. Cookies are the caller's business and pass.
 */
export function checkRequestHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  if (headers === undefined) return {};
  const entries = Object.entries(headers);
  if (entries.length > MAX_REQUEST_HEADERS) throw new HttpTransportError('headerInvalid');
  const seen = new Set<string>();
  let bytes = 0;
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || CRLF_NUL.test(name) || CRLF_NUL.test(value)) {
      throw new HttpTransportError('headerInvalid');
    }
    if (
      !TOKEN.test(name) ||
      name.length > MAX_HEADER_NAME ||
      value.length > MAX_HEADER_VALUE ||
      !VALUE_CHARS.test(value)
    ) {
      throw new HttpTransportError('headerInvalid');
    }
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('proxy-')) {
      throw new HttpTransportError('headerForbidden');
    }
    if (seen.has(lower)) throw new HttpTransportError('headerInvalid');
    seen.add(lower);
    bytes += name.length + value.length + 4;
  }
  if (bytes > MAX_HEADER_BYTES) throw new HttpTransportError('headerInvalid');
  // fromEntries defines own properties, so a `__proto__` header stays a header.
  return Object.fromEntries(entries.map(([name, value]) => [name.toLowerCase(), value]));
}

/**
 * The one copy of the token outside its Secret: built as the request is made, held only
 * by that request (no keep-alive agent keeps it afterwards). A token that is not visible
 * ASCII would let a faulty issuer inject headers; it is refused.
 */
export function bearerHeader(bearer: Secret): string {
  return tokenHeader('Bearer', bearer);
}

/** `DPoP <token>` (RFC 9449 §7.1), held to the same rules as the bearer header. */
export function dpopHeader(token: Secret): string {
  return tokenHeader('DPoP', token);
}

function tokenHeader(scheme: 'Bearer' | 'DPoP', token: Secret): string {
  return token.use((bytes) => {
    if (bytes.byteLength === 0 || bytes.byteLength > MAX_HEADER_VALUE) {
      throw new HttpTransportError('headerInvalid');
    }
    for (const byte of bytes) {
      if (byte < 0x21 || byte > 0x7e) throw new HttpTransportError('headerInvalid');
    }
    return `${scheme} ${bytes.toString('latin1')}`;
  });
}
