/**
 * The did:key of an Ed25519 public key, as src/governance/did-key.ts derives it (multicodec
 * ed25519-pub 0xed01, base58btc multibase), written out here because the browser has no
 * multiformats: the console must name the same principal the broker and the CLI do.
 */
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function base58btc(bytes: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] ?? 0) << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '';
  for (const byte of bytes) {
    if (byte !== 0) break;
    out += '1';
  }
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] ?? 0] ?? '';
  return out;
}

export function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function didFromRawKey(raw32: Uint8Array): string {
  if (raw32.byteLength !== 32) throw new Error('not an Ed25519 public key');
  const bytes = new Uint8Array(34);
  bytes.set([0xed, 0x01], 0);
  bytes.set(raw32, 2);
  return `did:key:z${base58btc(bytes)}`;
}
