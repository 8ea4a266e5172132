/**
 * OpenSSH wire formats for Ed25519 user certificates (PROTOCOL.certkeys) and unencrypted
 * `openssh-key-v1` private keys (PROTOCOL.key), written by hand on node:crypto because no
 * well-kept npm library does both: sshpk writes certificates without extensions (so no pty
 * or forwarding) and cannot write the private key without going through JS strings.
 *
 * Private key bytes are only ever in Buffers that are zeroed after use; the PEM text of a
 * private key is produced directly into a Buffer (base64 included), never as a JS string.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes, sign } from 'node:crypto';

export const ED25519 = 'ssh-ed25519';
export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com';
const SSH_CERT_TYPE_USER = 1;

/** OpenSSH's default extensions for a user certificate (ssh-keygen without -O clear). */
export const OPENSSH_DEFAULT_EXTENSIONS: readonly string[] = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
];

// ── encoding ─────────────────────────────────────────────────────

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

/** An SSH `string`: uint32 length, then the bytes. */
export function sshString(value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([u32(bytes.byteLength), bytes]);
}

/** Concatenates into unpooled memory and zero-fills the parts; for buffers holding secrets. */
function concatWiping(parts: Buffer[]): Buffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = Buffer.alloc(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
    p.fill(0);
  }
  return out;
}

export function ed25519PublicBlob(publicKey32: Uint8Array): Buffer {
  return Buffer.concat([sshString(ED25519), sshString(publicKey32)]);
}

/** `ssh-ed25519 AAAA… comment`, as in authorized_keys or TrustedUserCAKeys. */
export function ed25519PublicKeyLine(publicKey32: Uint8Array, comment: string): string {
  return `${ED25519} ${ed25519PublicBlob(publicKey32).toString('base64')} ${comment}`.trimEnd();
}

/** The raw 32-byte Ed25519 public key of a KeyObject (public or private). */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  // The JWK export of the public half is ~30× cheaper than a DER (SPKI) export here, and
  // holds no private bytes.
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  const raw = Buffer.from(x ?? '', 'base64url');
  if (raw.byteLength !== 32) throw new RangeError('not an Ed25519 key');
  return raw;
}

/** The 32-byte seed of an Ed25519 private KeyObject, read without a JS string; zero it after use. */
export function rawEd25519Seed(privateKey: KeyObject): Buffer {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = Buffer.alloc(32);
  pkcs8.copy(seed, 0, pkcs8.byteLength - 32);
  pkcs8.fill(0);
  return seed;
}

/** OpenSSH's `SHA256:…` fingerprint of a public key blob. */
export function sshFingerprint(publicKeyBlob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

// ── certificates ─────────────────────────────────────────────────

export interface UserCertificateRequest {
  /** The CA's Ed25519 private key; its public half is embedded as the signature key. */
  caPrivateKey: KeyObject;
  /** The CA's public key blob, when the caller has it already (saves deriving it per call). */
  caPublicBlob?: Buffer | undefined;
  userPublicKey32: Uint8Array;
  serial: bigint;
  keyId: string;
  principals: readonly string[];
  /** Seconds since the epoch. */
  validAfter: number;
  /** Seconds since the epoch. */
  validBefore: number;
  extensions?: readonly string[];
  criticalOptions?: Readonly<Record<string, string>>;
}

/** Signs an OpenSSH user certificate and returns its one-line text form. */
export function signUserCertificate(req: UserCertificateRequest): string {
  // Extensions and critical options must be sorted by name (PROTOCOL.certkeys).
  const extensions = [...(req.extensions ?? OPENSSH_DEFAULT_EXTENSIONS)]
    .sort()
    .map((name) => Buffer.concat([sshString(name), sshString('')]));
  const critical = Object.keys(req.criticalOptions ?? {})
    .sort()
    .map((name) =>
      Buffer.concat([sshString(name), sshString(sshString(req.criticalOptions?.[name] ?? ''))]),
    );
  const caPublic = req.caPublicBlob ?? ed25519PublicBlob(rawEd25519PublicKey(req.caPrivateKey));
  const toBeSigned = Buffer.concat([
    sshString(ED25519_CERT),
    sshString(randomBytes(32)),
    sshString(req.userPublicKey32),
    u64(req.serial),
    u32(SSH_CERT_TYPE_USER),
    sshString(req.keyId),
    sshString(Buffer.concat(req.principals.map((p) => sshString(p)))),
    u64(BigInt(req.validAfter)),
    u64(BigInt(req.validBefore)),
    sshString(Buffer.concat(critical)),
    sshString(Buffer.concat(extensions)),
    sshString(''), // reserved
    sshString(caPublic),
  ]);
  const signature = sign(null, toBeSigned, req.caPrivateKey);
  const blob = Buffer.concat([
    toBeSigned,
    sshString(Buffer.concat([sshString(ED25519), sshString(signature)])),
  ]);
  return `${ED25519_CERT} ${blob.toString('base64')}`;
}

export interface ParsedCertificate {
  keyType: string;
  publicKey32: Buffer;
  serial: bigint;
  certType: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Record<string, string>;
  extensions: string[];
  signatureKey: Buffer;
}

class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.#at === this.buf.byteLength;
  }
  u32(): number {
    if (this.#at + 4 > this.buf.byteLength) throw new RangeError('truncated');
    const v = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    return v;
  }
  u64(): bigint {
    if (this.#at + 8 > this.buf.byteLength) throw new RangeError('truncated');
    const v = this.buf.readBigUInt64BE(this.#at);
    this.#at += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.#at + n > this.buf.byteLength) throw new RangeError('truncated');
    const v = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
  /** The unread bytes (a view), consuming them. */
  rest(): Buffer {
    const v = this.buf.subarray(this.#at);
    this.#at = this.buf.byteLength;
    return v;
  }
}

/**
 * Parses the fields of an Ed25519 user certificate. Does not verify the signature (use
 * `ssh-keygen -L` or sshd for that); for reading metadata such as serial and principals.
 * Throws RangeError on anything malformed.
 */
export function parseEd25519Certificate(text: string): ParsedCertificate {
  const [algo, b64] = text.trim().split(/\s+/);
  if (algo !== ED25519_CERT || b64 === undefined)
    throw new RangeError('not an ed25519 certificate');
  const r = new Reader(Buffer.from(b64, 'base64'));
  const keyType = r.text();
  if (keyType !== ED25519_CERT) throw new RangeError('certificate type mismatch');
  r.bytes(); // nonce
  const publicKey32 = Buffer.from(r.bytes());
  const serial = r.u64();
  const certType = r.u32();
  const keyId = r.text();
  const principals: string[] = [];
  const pr = new Reader(r.bytes());
  while (!pr.done) principals.push(pr.text());
  const validAfter = r.u64();
  const validBefore = r.u64();
  const criticalOptions: Record<string, string> = {};
  const cr = new Reader(r.bytes());
  while (!cr.done) {
    const name = cr.text();
    const data = cr.bytes();
    criticalOptions[name] = data.byteLength === 0 ? '' : new Reader(data).text();
  }
  const extensions: string[] = [];
  const er = new Reader(r.bytes());
  while (!er.done) {
    extensions.push(er.text());
    er.bytes();
  }
  r.bytes(); // reserved
  const signatureKey = Buffer.from(r.bytes());
  r.bytes(); // signature
  if (!r.done) throw new RangeError('trailing bytes');
  return {
    keyType,
    publicKey32,
    serial,
    certType,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
  };
}

// ── private keys ─────────────────────────────────────────────────

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PEM_LINE = 70;

/** Base64 with a newline every 70 characters, written into a Buffer (no JS string). */
export function base64Lines(src: Buffer): Buffer {
  const chars = Math.ceil(src.byteLength / 3) * 4;
  const out = Buffer.alloc(chars + Math.ceil(chars / PEM_LINE));
  let o = 0;
  let col = 0;
  const put = (c: number): void => {
    out[o++] = c;
    if (++col === PEM_LINE) {
      out[o++] = 0x0a;
      col = 0;
    }
  };
  for (let i = 0; i < src.byteLength; i += 3) {
    const n = ((src[i] ?? 0) << 16) | ((src[i + 1] ?? 0) << 8) | (src[i + 2] ?? 0);
    put(B64[(n >> 18) & 63] ?? 0);
    put(B64[(n >> 12) & 63] ?? 0);
    put(i + 1 < src.byteLength ? (B64[(n >> 6) & 63] ?? 0) : 0x3d);
    put(i + 2 < src.byteLength ? (B64[n & 63] ?? 0) : 0x3d);
  }
  if (col !== 0) out[o++] = 0x0a;
  return out.subarray(0, o);
}

/**
 * An unencrypted `openssh-key-v1` PEM for an Ed25519 key, as a Buffer the caller owns
 * (hand it to `Secret.adopt`). Zeroes every intermediate buffer that held the seed.
 */
export function opensshPrivateKeyPem(
  seed32: Buffer,
  publicKey32: Uint8Array,
  comment = '',
): Buffer {
  const check = randomBytes(4);
  const pubBlob = ed25519PublicBlob(publicKey32);
  const privField = concatWiping([u32(64), Buffer.from(seed32), Buffer.from(publicKey32)]);
  const unpadded = concatWiping([
    check,
    Buffer.from(check),
    sshString(ED25519),
    sshString(publicKey32),
    privField,
    sshString(comment),
  ]);
  const padLength = (8 - (unpadded.byteLength % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const inner = concatWiping([unpadded, padding]);
  const body = concatWiping([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(pubBlob),
    u32(inner.byteLength),
    inner,
  ]);
  const encoded = base64Lines(body);
  body.fill(0);
  const pem = concatWiping([
    Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\n'),
    encoded,
    Buffer.from('-----END OPENSSH PRIVATE KEY-----\n'),
  ]);
  return pem;
}

/** Byte → sextet for the standard alphabet; -1 for anything else. */
const B64_VALUE = ((): Int8Array => {
  const table = new Int8Array(256).fill(-1);
  B64.forEach((c, i) => (table[c] = i));
  return table;
})();

/** True for the whitespace PEM bodies may hold between base64 characters. */
function isPemSpace(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09;
}

/**
 * Decodes padded base64 (whitespace ignored) from a Buffer into a Buffer, the inverse of
 * `base64Lines`: key material never becomes a JS string on the way. Strict: any other
 * byte, a length that is not a multiple of 4, or data after `=` is a RangeError. The
 * result is fresh, unpooled memory the caller owns (and zero-fills after use).
 */
export function base64Decode(src: Buffer): Buffer {
  const out = Buffer.alloc(Math.floor((src.byteLength * 3) / 4) + 3);
  let o = 0;
  let quad = 0;
  let count = 0;
  let padding = 0;
  const fail = (): RangeError => {
    out.fill(0);
    quad = 0;
    return new RangeError('invalid base64');
  };
  for (const c of src) {
    if (isPemSpace(c)) continue;
    if (c === 0x3d) {
      // '=' only in the last two places of the final quad.
      if (count % 4 < 2 || ++padding > 2) throw fail();
      count++;
      continue;
    }
    const v = B64_VALUE[c] ?? -1;
    if (v < 0 || padding > 0) throw fail();
    quad = (quad << 6) | v;
    if (++count % 4 === 0) {
      out[o++] = (quad >> 16) & 255;
      out[o++] = (quad >> 8) & 255;
      out[o++] = quad & 255;
      quad = 0;
    }
  }
  if (count % 4 !== 0) throw fail();
  if (padding > 0) {
    // The final quad was completed by '=' characters: emit its 1 or 2 real bytes.
    quad <<= 6 * padding;
    out[o++] = (quad >> 16) & 255;
    if (padding === 1) out[o++] = (quad >> 8) & 255;
    quad = 0;
  }
  return out.subarray(0, o);
}

const PEM_BEGIN = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----');
const PEM_END = Buffer.from('-----END OPENSSH PRIVATE KEY-----');
const KEY_V1_MAGIC = Buffer.from('openssh-key-v1\0');
const NONE = Buffer.from('none');
const ED25519_NAME = Buffer.from(ED25519);

/**
 * The 32-byte Ed25519 seed of an unencrypted `openssh-key-v1` PEM (as `opensshPrivateKeyPem`
 * and `ssh-keygen -N ''` write it), read without a JS string. The result is a fresh Buffer
 * the caller zero-fills after use; the decoded blob is zero-filled before returning. Throws
 * RangeError (fixed text, never quoting the input) on anything else: another key type, an
 * encrypted key, several keys, mismatched check bytes or public halves, bad padding.
 */
export function opensshSeedFromPem(pem: Buffer): Buffer {
  const begin = pem.indexOf(PEM_BEGIN);
  const end = pem.indexOf(PEM_END);
  if (begin < 0 || end < begin) throw new RangeError('not an openssh-key-v1 PEM');
  for (const c of pem.subarray(0, begin)) if (!isPemSpace(c)) throw notKey();
  for (const c of pem.subarray(end + PEM_END.byteLength)) if (!isPemSpace(c)) throw notKey();
  const blob = base64Decode(pem.subarray(begin + PEM_BEGIN.byteLength, end));
  try {
    if (!blob.subarray(0, KEY_V1_MAGIC.byteLength).equals(KEY_V1_MAGIC)) throw notKey();
    const r = new Reader(blob.subarray(KEY_V1_MAGIC.byteLength));
    if (!r.bytes().equals(NONE) || !r.bytes().equals(NONE)) throw notKey(); // cipher, kdf
    if (r.bytes().byteLength !== 0 || r.u32() !== 1) throw notKey(); // kdf options, nkeys
    const pub = new Reader(r.bytes());
    if (!pub.bytes().equals(ED25519_NAME)) throw notKey();
    const publicKey32 = pub.bytes();
    if (!pub.done || publicKey32.byteLength !== 32) throw notKey();
    const priv = r.bytes();
    if (!r.done || priv.byteLength % 8 !== 0) throw notKey();

    const p = new Reader(priv);
    if (p.u32() !== p.u32()) throw notKey(); // check bytes: differ when decryption failed
    if (!p.bytes().equals(ED25519_NAME) || !p.bytes().equals(publicKey32)) throw notKey();
    const secret64 = p.bytes(); // seed ‖ public key
    if (secret64.byteLength !== 64 || !secret64.subarray(32).equals(publicKey32)) throw notKey();
    p.bytes(); // comment
    const padding = p.rest();
    if (padding.byteLength >= 8 || !padding.every((b, i) => b === i + 1)) throw notKey();

    const seed = Buffer.alloc(32);
    secret64.copy(seed, 0, 0, 32);
    return seed;
  } catch (err) {
    throw err instanceof RangeError ? err : notKey();
  } finally {
    blob.fill(0);
  }
}

function notKey(): RangeError {
  return new RangeError('not an unencrypted openssh-key-v1 Ed25519 key');
}
