/**
 * application/x-www-form-urlencoded and HTTP Basic client authentication built from bytes,
 * so a Secret value (a subject token, a revoked token, a client secret) is encoded from
 * its bytes into a Buffer the caller zero-fills, and never becomes a JS string of ours.
 */
import type { Secret } from '../../credentials/secret.js';

export type FormValue = string | Secret;
export type FormFields = readonly (readonly [string, FormValue])[];

const FORM_SAFE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._') {
  FORM_SAFE[c.charCodeAt(0)] = 1;
}
const HEX = '0123456789ABCDEF';

function encodedLength(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n += FORM_SAFE[b] === 1 || b === 0x20 ? 1 : 3;
  return n;
}

function writeEncoded(bytes: Uint8Array, out: Buffer, at: number): number {
  let i = at;
  for (const b of bytes) {
    if (FORM_SAFE[b] === 1) out[i++] = b;
    else if (b === 0x20) out[i++] = 0x2b;
    else {
      out[i++] = 0x25;
      out[i++] = HEX.charCodeAt(b >> 4);
      out[i++] = HEX.charCodeAt(b & 15);
    }
  }
  return i;
}

/**
 * application/x-www-form-urlencoded, built in one Buffer the caller zero-fills after
 * sending: a Secret value is encoded from its bytes and never becomes a JS string.
 */
export function formBody(fields: FormFields): Buffer {
  const encoded = fields.map(([name, value]) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : undefined;
    return { name: Buffer.from(name, 'utf8'), value, bytes };
  });
  const sizeOf = (e: (typeof encoded)[number]): number =>
    e.bytes !== undefined ? encodedLength(e.bytes) : (e.value as Secret).use(encodedLength);
  const total = encoded.reduce((n, e) => n + encodedLength(e.name) + 1 + sizeOf(e), 0);
  const out = Buffer.alloc(total + Math.max(0, encoded.length - 1));
  let at = 0;
  encoded.forEach((e, index) => {
    if (index > 0) out[at++] = 0x26;
    at = writeEncoded(e.name, out, at);
    out[at++] = 0x3d;
    at =
      e.bytes !== undefined
        ? writeEncoded(e.bytes, out, at)
        : (e.value as Secret).use((b) => writeEncoded(b, out, at));
    e.bytes?.fill(0);
  });
  return out;
}

/** RFC 6749 §2.3.1: both halves form-encoded, then base64. */
export function basicAuthorization(clientId: string, secret: Secret): string {
  const id = Buffer.from(clientId, 'utf8');
  const joined = secret.use((s) => {
    const buf = Buffer.alloc(encodedLength(id) + 1 + encodedLength(s));
    let at = writeEncoded(id, buf, 0);
    buf[at++] = 0x3a;
    writeEncoded(s, buf, at);
    return buf;
  });
  try {
    return `Basic ${joined.toString('base64')}`;
  } finally {
    joined.fill(0);
  }
}
