/**
 * Unencrypted `openssh-key-v1` private keys for Ed25519 (PROTOCOL.key), written and read
 * by hand on Buffers because no well-kept npm library does so without going through JS
 * strings. Private key bytes are only ever in Buffers that are zeroed after use; the PEM
 * text is produced directly into a Buffer (base64 included), never as a JS string.
 */
import { randomBytes } from 'node:crypto';
import { base64Decode, base64Lines, isPemSpace } from './base64.js';
import { ED25519, ed25519PublicBlob } from './ed25519.js';
import { joinWiping } from '../base/owned-bytes.js';
import { Reader, sshString, u32 } from './wire.js';

const PEM_BEGIN = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----');
const PEM_END = Buffer.from('-----END OPENSSH PRIVATE KEY-----');
const KEY_V1_MAGIC = Buffer.from('openssh-key-v1\0');
const NONE = Buffer.from('none');
const ED25519_NAME = Buffer.from(ED25519);

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
  const privField = joinWiping([u32(64), Buffer.from(seed32), Buffer.from(publicKey32)]);
  const unpadded = joinWiping([
    check,
    Buffer.from(check),
    sshString(ED25519),
    sshString(publicKey32),
    privField,
    sshString(comment),
  ]);
  const padLength = (8 - (unpadded.byteLength % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const inner = joinWiping([unpadded, padding]);
  const body = joinWiping([
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
  const pem = joinWiping([
    Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\n'),
    encoded,
    Buffer.from('-----END OPENSSH PRIVATE KEY-----\n'),
  ]);
  return pem;
}

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
