/**
 * The in-process Kerberos crypto against the published vectors (RFC 3961 n-fold, RFC 3962
 * string-to-key and CTS, RFC 8009's whole Appendix A, MIT's AES and HMAC-MD5 vectors), and
 * every check failing closed: a wrong key, a flipped bit, a truncated ciphertext, a bad
 * checksum, an unsupported enctype, a key of the wrong length, bad s2kparams.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/credentials/secret.js';
import { ctsDecrypt, ctsEncrypt } from '../../src/kerberos/crypto/aes-cts.js';
import { checksum, verifyChecksum } from '../../src/kerberos/crypto/checksum.js';
import { decrypt, encrypt } from '../../src/kerberos/crypto/cipher.js';
import { KC, KE, KI, usageKey } from '../../src/kerberos/crypto/derive.js';
import { profileOf } from '../../src/kerberos/crypto/enctypes.js';
import { hmacMd5Checksum, verifyHmacMd5Checksum } from '../../src/kerberos/crypto/hmac-md5.js';
import { nfold } from '../../src/kerberos/crypto/nfold.js';
import { generateKey, randomToKey, stringToKey } from '../../src/kerberos/crypto/string-to-key.js';
import {
  CTS,
  CTS_KEY,
  CTS_PLAIN,
  hex,
  MIT_AES_CHECKSUM,
  MIT_AES_ENCRYPT,
  MIT_HMAC_MD5,
  NFOLD,
  RFC3962_S2K,
  RFC8009,
} from './vectors.js';

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;
const reveal = (s: Secret) => s.unsafeReveal().toString('hex');
const params = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('kerberos crypto: published vectors', () => {
  it('n-fold (RFC 3961 A.1)', () => {
    for (const [input, bits, out] of NFOLD) {
      assert.equal(
        nfold(Buffer.from(input), bits / 8).toString('hex'),
        out,
        `${bits}-fold ${input}`,
      );
    }
  });

  it('string-to-key for 17 and 18 (RFC 3962 B)', () => {
    for (const v of RFC3962_S2K) {
      const pw = Secret.copyOf(v.password);
      const k128 = stringToKey(17, pw, v.salt, params(v.iterations));
      const k256 = stringToKey(18, pw, v.salt, params(v.iterations));
      assert.equal(reveal(k128.key), hex(v.aes128).toString('hex'), `aes128 ${v.iterations}`);
      assert.equal(reveal(k256.key), hex(v.aes256).toString('hex'), `aes256 ${v.iterations}`);
    }
  });

  it('AES-CBC-CTS both ways (RFC 3962 B)', () => {
    const iv = Buffer.alloc(16);
    for (const [length, out] of CTS) {
      const plain = CTS_PLAIN.subarray(0, length);
      const cipher = ctsEncrypt(CTS_KEY, iv, plain);
      assert.equal(cipher.toString('hex'), hex(out).toString('hex'), `${length} bytes`);
      assert.deepEqual(ctsDecrypt(CTS_KEY, iv, cipher), plain);
    }
  });

  it("encryption and checksums for 17 and 18 (MIT's vectors)", () => {
    for (const v of MIT_AES_ENCRYPT) {
      const key = randomToKey(v.enctype, hex(v.key));
      const cipher = encrypt(key, v.usage, v.plain, { confounder: hex(v.confounder) });
      assert.equal(cipher.toString('hex'), hex(v.cipher).toString('hex'));
      assert.deepEqual(decrypt(key, v.usage, cipher).unsafeReveal(), v.plain);
    }
    for (const v of MIT_AES_CHECKSUM) {
      const key = randomToKey(v.enctype, hex(v.key));
      assert.equal(
        checksum(v.cksumtype, key, v.usage, v.data).toString('hex'),
        hex(v.checksum).toString('hex'),
      );
      verifyChecksum(v.cksumtype, key, v.usage, v.data, hex(v.checksum));
    }
  });

  it('string-to-key, key derivation, encryption and checksums for 19 and 20 (RFC 8009 A)', () => {
    for (const v of RFC8009) {
      const s2k = stringToKey(v.enctype, Secret.fromString('password'), v.s2kSalt);
      assert.equal(reveal(s2k.key), hex(v.s2kKey).toString('hex'), `s2k ${v.enctype}`);
      const profile = profileOf(v.enctype);
      const base = hex(v.baseKey);
      assert.equal(usageKey(profile, base, v.usage, KC).toString('hex'), hex(v.kc).toString('hex'));
      assert.equal(usageKey(profile, base, v.usage, KE).toString('hex'), hex(v.ke).toString('hex'));
      assert.equal(usageKey(profile, base, v.usage, KI).toString('hex'), hex(v.ki).toString('hex'));
      const key = randomToKey(v.enctype, base);
      const data = hex('000102030405060708090A0B0C0D0E0F1011121314');
      assert.equal(
        checksum(profile.checksumType, key, v.usage, data).toString('hex'),
        hex(v.checksum).toString('hex'),
      );
      for (const [plain, confounder, out] of v.encryptions) {
        const cipher = encrypt(key, v.usage, hex(plain), { confounder: hex(confounder) });
        assert.equal(cipher.toString('hex'), hex(out).toString('hex'), `${v.enctype} ${plain}`);
        assert.equal(reveal(decrypt(key, v.usage, cipher)), hex(plain).toString('hex'));
      }
    }
  });

  it("the HMAC-MD5 checksum of MS-SFU's PA-FOR-USER (MIT's vector)", () => {
    const key = { enctype: 23, key: Secret.copyOf(hex(MIT_HMAC_MD5.key)) };
    const sum = hmacMd5Checksum(key, MIT_HMAC_MD5.usage, MIT_HMAC_MD5.data);
    assert.equal(sum.toString('hex'), hex(MIT_HMAC_MD5.checksum).toString('hex'));
    verifyHmacMd5Checksum(key, MIT_HMAC_MD5.usage, MIT_HMAC_MD5.data, sum);
    const flipped = Buffer.from(sum);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.throws(
      () => verifyHmacMd5Checksum(key, MIT_HMAC_MD5.usage, MIT_HMAC_MD5.data, flipped),
      code('kerberos_checksum_invalid'),
    );
  });
});

describe('kerberos crypto: every check fails closed', () => {
  for (const enctype of [17, 18, 19, 20]) {
    it(`enctype ${enctype}: wrong key, wrong usage, flipped bits and truncation are integrity errors`, () => {
      const key = generateKey(enctype);
      const other = generateKey(enctype);
      const plain = Buffer.from('a ticket session key and some more bytes');
      const cipher = encrypt(key, 3, plain);
      assert.deepEqual(decrypt(key, 3, cipher).unsafeReveal(), plain);
      assert.throws(() => decrypt(other, 3, cipher), code('kerberos_integrity_failed'));
      assert.throws(() => decrypt(key, 4, cipher), code('kerberos_integrity_failed'));
      for (const at of [0, 17, cipher.byteLength - 1]) {
        const bad = Buffer.from(cipher);
        bad[at] = (bad[at] ?? 0) ^ 0x80;
        assert.throws(
          () => decrypt(key, 3, bad),
          code('kerberos_integrity_failed'),
          `bit at ${at}`,
        );
      }
      assert.throws(
        () => decrypt(key, 3, cipher.subarray(0, cipher.byteLength - 1)),
        code('kerberos_integrity_failed'),
      );
      const macBytes = profileOf(enctype).macBytes;
      assert.throws(
        () => decrypt(key, 3, cipher.subarray(0, 16 + macBytes - 1)),
        code('kerberos_ciphertext_malformed'),
      );
      assert.throws(() => decrypt(key, 3, Buffer.alloc(0)), code('kerberos_ciphertext_malformed'));
    });

    it(`enctype ${enctype}: a checksum with one bit changed, or under another key, does not verify`, () => {
      const key = generateKey(enctype);
      const type = profileOf(enctype).checksumType;
      const data = Buffer.from('KDC-REQ-BODY bytes');
      const sum = checksum(type, key, 6, data);
      verifyChecksum(type, key, 6, data, sum);
      const bad = Buffer.from(sum);
      bad[bad.byteLength - 1] = (bad[bad.byteLength - 1] ?? 0) ^ 1;
      assert.throws(
        () => verifyChecksum(type, key, 6, data, bad),
        code('kerberos_checksum_invalid'),
      );
      assert.throws(
        () => verifyChecksum(type, key, 6, data, sum.subarray(1)),
        code('kerberos_checksum_invalid'),
      );
      assert.throws(
        () => verifyChecksum(type, generateKey(enctype), 6, data, sum),
        code('kerberos_checksum_invalid'),
      );
      assert.throws(
        () => verifyChecksum(type, key, 7, data, sum),
        code('kerberos_checksum_invalid'),
      );
    });
  }

  it('refuses DES, 3DES and RC4 enctypes and checksums with stable codes', () => {
    for (const enctype of [1, 3, 16, 23, 24, 0, 21, -1]) {
      assert.throws(() => generateKey(enctype), code('kerberos_unsupported_enctype'), `${enctype}`);
      assert.throws(
        () => stringToKey(enctype, Secret.fromString('pw'), Buffer.from('salt')),
        code('kerberos_unsupported_enctype'),
      );
      assert.throws(
        () => encrypt({ enctype, key: Secret.copyOf(Buffer.alloc(16)) }, 1, Buffer.alloc(1)),
        code('kerberos_unsupported_enctype'),
      );
    }
    for (const cksumtype of [1, 7, 8, 12, -138, 14, 17]) {
      assert.throws(
        () => checksum(cksumtype, generateKey(17), 1, Buffer.alloc(1)),
        code('kerberos_unsupported_checksum'),
      );
    }
  });

  it('refuses keys of the wrong length or enctype, and bad s2kparams', () => {
    assert.throws(() => randomToKey(18, Buffer.alloc(16)), code('kerberos_key_invalid'));
    const short = { enctype: 18, key: Secret.copyOf(Buffer.alloc(16)) };
    assert.throws(() => encrypt(short, 1, Buffer.alloc(1)), code('kerberos_key_invalid'));
    assert.throws(() => decrypt(short, 1, Buffer.alloc(64)), code('kerberos_key_invalid'));
    assert.throws(
      () => checksum(15, generateKey(18), 1, Buffer.alloc(1)),
      code('kerberos_key_invalid'),
    );
    const pw = Secret.fromString('pw');
    for (const bad of [Buffer.alloc(3), Buffer.alloc(5), params(0), params(0x1000000)]) {
      assert.throws(
        () => stringToKey(17, pw, Buffer.from('s'), bad),
        code('kerberos_s2kparams_invalid'),
      );
    }
  });

  it('the errors carry no bytes of key, plaintext or ciphertext', () => {
    const key = generateKey(18);
    const cipher = encrypt(key, 3, Buffer.from('MARKERplaintext'));
    cipher[20] = (cipher[20] ?? 0) ^ 1;
    try {
      decrypt(key, 3, cipher);
      assert.fail('decrypted a tampered ciphertext');
    } catch (err) {
      const text = JSON.stringify(err) + String(err) + (err as Error).stack;
      for (const needle of [
        cipher.toString('hex'),
        reveal(key.key),
        'MARKER',
        cipher.toString('base64'),
      ]) {
        assert.equal(text.includes(needle), false);
      }
      assert.match(String(err), /integrity check/);
    }
  });
});
