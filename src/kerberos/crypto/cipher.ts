/**
 * Encryption with a key usage (RFC 3961 §5.3 as profiled by RFC 3962, and RFC 8009 §5):
 * a random confounder, AES-CBC-CTS with a zero IV under Ke, and a truncated HMAC under Ki —
 * over confounder | plaintext for 17/18, over IV | ciphertext for 19/20. Decryption checks
 * the HMAC in constant time and answers `kerberos_integrity_failed`, never with bytes.
 * Ke and Ki are zero-filled after each call (OpenSSL's copies inside its cipher and HMAC
 * contexts cannot be, see aes-cts.ts); the plaintext comes back in a Secret.
 */
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import { Secret } from '../../credentials/secret.js';
import { ctsDecrypt, ctsEncrypt } from './aes-cts.js';
import { joinOwned, wipe } from './bytes.js';
import { KE, KI, usageKey } from './derive.js';
import { profileOfKey, type EnctypeProfile, type KerberosKey } from './enctypes.js';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

export interface EncryptOptions {
  /** A fixed confounder, for the published known-answer tests only; random otherwise. */
  readonly confounder?: Uint8Array;
}

function mac(profile: EnctypeProfile, ki: Buffer, data: readonly Uint8Array[]): Buffer {
  const h = createHmac(profile.hash, ki);
  for (const d of data) h.update(d);
  const full = h.digest();
  const out = joinOwned(full.subarray(0, profile.macBytes));
  wipe(full);
  return out;
}

function withUsageKeys<T>(
  key: KerberosKey,
  usage: number,
  fn: (profile: EnctypeProfile, ke: Buffer, ki: Buffer) => T,
): T {
  const profile = profileOfKey(key);
  return key.key.use((base) => {
    const ke = usageKey(profile, base, usage, KE);
    const ki = usageKey(profile, base, usage, KI);
    try {
      return fn(profile, ke, ki);
    } finally {
      wipe(ke, ki);
    }
  });
}

/** The ciphertext of `plaintext` under `key` for key usage `usage`. */
export function encrypt(
  key: KerberosKey,
  usage: number,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Buffer {
  return withUsageKeys(key, usage, (profile, ke, ki) => {
    const confounder = options.confounder ?? randomFillSync(Buffer.alloc(BLOCK));
    if (confounder.byteLength !== BLOCK) throw new RangeError('confounder length');
    const plain = joinOwned(confounder, plaintext);
    try {
      const c = ctsEncrypt(ke, ZERO_IV, plain);
      const h =
        profile.family === 'rfc3962' ? mac(profile, ki, [plain]) : mac(profile, ki, [ZERO_IV, c]);
      return joinOwned(c, h);
    } finally {
      wipe(plain);
    }
  });
}

/** The plaintext of `ciphertext`, after its integrity check; in a Secret (it holds keys). */
export function decrypt(key: KerberosKey, usage: number, ciphertext: Uint8Array): Secret {
  return withUsageKeys(key, usage, (profile, ke, ki) => {
    if (ciphertext.byteLength < BLOCK + profile.macBytes) {
      throw new BastionError('kerberos_ciphertext_malformed');
    }
    const split = ciphertext.byteLength - profile.macBytes;
    const c = ciphertext.subarray(0, split);
    const h = ciphertext.subarray(split);
    if (profile.family === 'rfc8009') {
      // Encrypt-then-MAC: nothing is decrypted before the HMAC holds.
      if (!timingSafeEqual(mac(profile, ki, [ZERO_IV, c]), h)) throw integrityFailed();
      return plaintextOf(ctsDecrypt(ke, ZERO_IV, c));
    }
    const plain = ctsDecrypt(ke, ZERO_IV, c);
    if (!timingSafeEqual(mac(profile, ki, [plain]), h)) {
      wipe(plain);
      throw integrityFailed();
    }
    return plaintextOf(plain);
  });
}

function integrityFailed(): BastionError {
  return new BastionError('kerberos_integrity_failed');
}

/** The plaintext after its confounder, in a Secret; the decrypted buffer is zero-filled. */
function plaintextOf(plain: Buffer): Secret {
  const out = Secret.copyOf(plain.subarray(BLOCK));
  wipe(plain);
  return out;
}
