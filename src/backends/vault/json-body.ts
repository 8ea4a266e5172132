/**
 * A JSON object request body built from bytes, so that a secret value (an AppRole
 * secret_id, a login JWT) is written from its Secret into a Buffer the caller zero-fills
 * after sending, and never becomes a JS string of ours. Values are strings, Secrets, or
 * maps of strings (an SSH signing's `critical_options` and `extensions`): every Vault
 * request the broker makes takes such parameters only.
 */
import { Secret } from '../../credentials/secret.js';

/** A map of strings: public by construction, written with JSON.stringify. */
export type JsonStringMap = Readonly<Record<string, string>>;
export type JsonValue = string | Secret | JsonStringMap;
export type JsonFields = readonly (readonly [string, JsonValue])[];

const HEX = '0123456789abcdef';

/** Bytes as the inside of a JSON string: `"`, `\` and control bytes escaped, UTF-8 kept. */
function escapedLength(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n += b === 0x22 || b === 0x5c ? 2 : b < 0x20 ? 6 : 1;
  return n;
}

function writeEscaped(bytes: Uint8Array, out: Buffer, at: number): number {
  let i = at;
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) {
      out[i++] = 0x5c;
      out[i++] = b;
    } else if (b < 0x20) {
      out.write(`\\u00${HEX[b >> 4] ?? '0'}${HEX[b & 15] ?? '0'}`, i, 'latin1');
      i += 6;
    } else out[i++] = b;
  }
  return i;
}

/** `{"name":"value",…}` in one Buffer the caller zero-fills after sending. */
export function jsonBody(fields: JsonFields): Buffer {
  const parts = fields.map(([name, value]) => ({
    name: Buffer.from(name, 'utf8'),
    text: typeof value === 'string' ? Buffer.from(value, 'utf8') : undefined,
    secret: value instanceof Secret ? value : undefined,
    // Already JSON (quotes and braces included): written as is.
    raw:
      typeof value === 'string' || value instanceof Secret
        ? undefined
        : Buffer.from(JSON.stringify(value), 'utf8'),
  }));
  const valueLength = (p: (typeof parts)[number]): number =>
    p.raw !== undefined
      ? p.raw.byteLength - 2
      : p.text !== undefined
        ? escapedLength(p.text)
        : (p.secret?.use(escapedLength) ?? 0);
  // {} plus, per field, "name":"value" and a comma between fields.
  const total = parts.reduce(
    (n, p) => n + escapedLength(p.name) + valueLength(p) + 5,
    2 + Math.max(0, parts.length - 1),
  );
  const out = Buffer.alloc(total);
  let at = 0;
  out[at++] = 0x7b;
  parts.forEach((p, index) => {
    if (index > 0) out[at++] = 0x2c;
    out[at++] = 0x22;
    at = writeEscaped(p.name, out, at);
    if (p.raw !== undefined) {
      out.write('":', at, 'latin1');
      at += 2 + p.raw.copy(out, at + 2);
      return;
    }
    out.write('":"', at, 'latin1');
    at += 3;
    at =
      p.text !== undefined
        ? writeEscaped(p.text, out, at)
        : (p.secret?.use((b) => writeEscaped(b, out, at)) ?? at);
    out[at++] = 0x22;
  });
  out[at++] = 0x7d;
  return out;
}
