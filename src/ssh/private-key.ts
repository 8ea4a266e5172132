/**
 * Unencrypted `openssh-key-v1` private keys for Ed25519 (PROTOCOL.key), written and read
 * by hand on Buffers because no well-kept npm library does so without going through JS
 * strings. Private key bytes are only ever in Buffers that are zeroed after use; the PEM
 * text is produced directly into a Buffer (base64 included), never as a JS string.
 */
import { base64Decode, base64LinesInto, base64LinesLength, isPemSpace } from './base64.js';
import { ED25519 } from './ed25519.js';
import { fillPublicRandom } from './public-random.js';
import { Reader, sshString, u32 } from './wire.js';

const PEM_HEAD_LINE = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----');
const PEM_TAIL_LINE = Buffer.from('-----END OPENSSH PRIVATE KEY-----');
const KEY_V1_MAGIC = Buffer.from('openssh-key-v1\0');
const NONE = Buffer.from('none');
const ED25519_NAME = Buffer.from(ED25519);

const NEWLINE = Buffer.from('\n');
const PEM_HEAD = Buffer.concat([PEM_HEAD_LINE, NEWLINE]);
const PEM_TAIL = Buffer.concat([PEM_TAIL_LINE, NEWLINE]);

/**
 * What precedes the public key in every unencrypted Ed25519 key blob: the magic, cipher
 * and KDF `none`, no KDF options, one key, the public blob's length and key type.
 */
const BLOB_HEAD = Buffer.concat([
  KEY_V1_MAGIC,
  sshString(NONE),
  sshString(NONE),
  sshString(''),
  u32(1),
  u32(4 + ED25519_NAME.byteLength + 4 + 32),
  sshString(ED25519_NAME),
  u32(32),
]);

/**
 * An unencrypted `openssh-key-v1` PEM for an Ed25519 key, as a Buffer the caller owns
 * (hand it to `Secret.adopt`). The key blob is laid out in one buffer of its own, encoded
 * straight into the PEM (sized up front), then zero-filled: the PEM is the only copy of the
 * seed this leaves behind, and the caller's `seed32` is not touched.
 */
export function opensshPrivateKeyPem(
  seed32: Uint8Array,
  publicKey32: Uint8Array,
  comment = '',
): Buffer {
  const commentLength = Buffer.byteLength(comment);
  // check ×2, key type, public key, seed ‖ public key, comment; then padded to 8.
  const unpadded = 8 + 4 + ED25519_NAME.byteLength + 4 + 32 + 4 + 64 + 4 + commentLength;
  const privateLength = unpadded + ((8 - (unpadded % 8)) % 8);
  const blob = Buffer.alloc(BLOB_HEAD.byteLength + 32 + 4 + privateLength);
  try {
    let at = BLOB_HEAD.copy(blob, 0);
    blob.set(publicKey32, at);
    at = blob.writeUInt32BE(privateLength, at + 32);
    fillPublicRandom(blob, at, 4); // check bytes, twice: they differ when decryption failed
    blob.copyWithin(at + 4, at, at + 4);
    at = blob.writeUInt32BE(ED25519_NAME.byteLength, at + 8);
    at += ED25519_NAME.copy(blob, at);
    at = blob.writeUInt32BE(32, at);
    blob.set(publicKey32, at);
    at = blob.writeUInt32BE(64, at + 32);
    blob.set(seed32, at);
    blob.set(publicKey32, at + 32);
    at = blob.writeUInt32BE(commentLength, at + 64);
    at += blob.write(comment, at);
    for (let pad = 1; at < blob.byteLength; pad++) blob[at++] = pad;

    const pem = Buffer.alloc(
      PEM_HEAD.byteLength + base64LinesLength(blob.byteLength) + PEM_TAIL.byteLength,
    );
    const end = base64LinesInto(blob, pem, PEM_HEAD.copy(pem, 0));
    PEM_TAIL.copy(pem, end);
    return pem;
  } finally {
    blob.fill(0);
  }
}

/**
 * The 32-byte Ed25519 seed of an unencrypted `openssh-key-v1` PEM (as `opensshPrivateKeyPem`
 * and `ssh-keygen -N ''` write it), read without a JS string. The result is a fresh Buffer
 * the caller zero-fills after use; the decoded blob is zero-filled before returning. Throws
 * RangeError (fixed text, never quoting the input) on anything else: another key type, an
 * encrypted key, several keys, mismatched check bytes or public halves, bad padding.
 */
export function opensshSeedFromPem(pem: Buffer): Buffer {
  const begin = pem.indexOf(PEM_HEAD_LINE);
  const end = pem.indexOf(PEM_TAIL_LINE);
  if (begin < 0 || end < begin) throw new RangeError('not an openssh-key-v1 PEM');
  for (const c of pem.subarray(0, begin)) if (!isPemSpace(c)) throw notKey();
  for (const c of pem.subarray(end + PEM_TAIL_LINE.byteLength)) if (!isPemSpace(c)) throw notKey();
  const blob = base64Decode(pem.subarray(begin + PEM_HEAD_LINE.byteLength, end));
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
