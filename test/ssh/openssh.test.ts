/** The hand-written OpenSSH encoders, checked against Node's base64 and OpenSSH's ssh-keygen. */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { base64Decode, base64Lines } from '../../src/ssh/base64.js';
import { parseEd25519Certificate, signUserCertificate } from '../../src/ssh/certificate.js';
import { rawEd25519PublicKey, rawEd25519Seed } from '../../src/ssh/ed25519.js';
import { opensshPrivateKeyPem, opensshSeedFromPem } from '../../src/ssh/private-key.js';
import { run } from '../helpers/run.js';

describe('OpenSSH encoding', () => {
  it('base64Lines matches Node base64 wrapped at 70 columns, for every padding case', () => {
    for (let n = 1; n <= 220; n++) {
      const src = randomBytes(n);
      const expected = (src.toString('base64').match(/.{1,70}/g) ?? []).join('\n') + '\n';
      assert.equal(base64Lines(src).toString(), expected, `length ${n}`);
    }
  });

  it('writes critical options that ssh-keygen reads back, and parses its own output', () => {
    const ca = generateKeyPairSync('ed25519').privateKey;
    const user = generateKeyPairSync('ed25519').privateKey;
    const cert = signUserCertificate({
      caPrivateKey: ca,
      userPublicKey32: rawEd25519PublicKey(user),
      serial: 18446744073709551615n,
      keyId: 'kid',
      principals: ['svc'],
      validAfter: 1_800_000_000,
      validBefore: 1_800_000_060,
      extensions: ['permit-pty'],
      criticalOptions: { 'source-address': '127.0.0.1/32', 'force-command': 'uptime' },
    });
    const r = run('ssh-keygen', ['-L', '-f', '/dev/stdin'], cert + '\n');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /force-command uptime/);
    assert.match(r.stdout, /source-address 127\.0\.0\.1\/32/);
    assert.match(r.stdout, /Serial: 18446744073709551615/);

    const parsed = parseEd25519Certificate(cert);
    assert.equal(parsed.serial, 18446744073709551615n);
    assert.equal(parsed.certType, 1);
    assert.deepEqual(parsed.principals, ['svc']);
    assert.deepEqual(parsed.criticalOptions, {
      'force-command': 'uptime',
      'source-address': '127.0.0.1/32',
    });
    assert.deepEqual(parsed.extensions, ['permit-pty']);
    assert.equal(parsed.validBefore - parsed.validAfter, 60n);
    assert.deepEqual(parsed.publicKey32, rawEd25519PublicKey(user));
  });

  it('refuses malformed certificate text', () => {
    assert.throws(() => parseEd25519Certificate('ssh-ed25519 AAAA'), RangeError);
    assert.throws(
      () => parseEd25519Certificate('ssh-ed25519-cert-v01@openssh.com AAAA'),
      RangeError,
    );
    assert.throws(() => parseEd25519Certificate(''), RangeError);
  });
});

describe('OpenSSH decoding', () => {
  const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
  const publicOfSeed = (seed: Buffer): Buffer =>
    rawEd25519PublicKey(
      createPrivateKey({
        key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
        format: 'der',
        type: 'pkcs8',
      }),
    );

  it('base64Decode inverts base64Lines and Node base64, for every padding case', () => {
    for (let n = 0; n <= 220; n++) {
      const src = randomBytes(n);
      assert.deepEqual(base64Decode(base64Lines(src)), src, `wrapped, length ${n}`);
      assert.deepEqual(
        base64Decode(Buffer.from(src.toString('base64'))),
        src,
        `unwrapped, length ${n}`,
      );
    }
    assert.deepEqual(base64Decode(Buffer.from(' QU\r\nJD\tRA==\n')), Buffer.from('ABCD'));
  });

  it('base64Decode refuses anything but padded standard base64', () => {
    for (const bad of ['QQ', 'QUJ', 'Q===', 'QQ=A', 'QQ==QQ==', 'QUJD=', 'QU-D', 'QU_D', 'QUJ\0']) {
      assert.throws(() => base64Decode(Buffer.from(bad)), RangeError, JSON.stringify(bad));
    }
  });

  it('opensshSeedFromPem round-trips opensshPrivateKeyPem', () => {
    for (const comment of ['', 'c', 'bastion-ephemeral', 'x'.repeat(13)]) {
      const key = generateKeyPairSync('ed25519').privateKey;
      const seed = rawEd25519Seed(key);
      const pem = opensshPrivateKeyPem(seed, rawEd25519PublicKey(key), comment);
      assert.deepEqual(opensshSeedFromPem(pem), seed, `comment length ${comment.length}`);
    }
  });

  it("reads ssh-keygen's Ed25519 keys, and refuses encrypted, RSA and damaged ones", () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-openssh-'));
    try {
      const keygen = (name: string, ...args: string[]): Buffer => {
        const r = run('ssh-keygen', ['-q', '-C', 'test', '-f', join(dir, name), ...args]);
        assert.equal(r.status, 0, r.stderr);
        return readFileSync(join(dir, name));
      };
      const pem = keygen('ed', '-t', 'ed25519', '-N', '');
      const pub = readFileSync(join(dir, 'ed.pub'), 'utf8').split(' ')[1] ?? '';
      const seed = opensshSeedFromPem(pem);
      assert.deepEqual(publicOfSeed(seed), Buffer.from(pub, 'base64').subarray(-32));

      const encrypted = keygen('enc', '-t', 'ed25519', '-N', 'passphrase');
      assert.throws(() => opensshSeedFromPem(encrypted), RangeError);
      const rsa = keygen('rsa', '-t', 'rsa', '-b', '1024', '-N', '');
      assert.throws(() => opensshSeedFromPem(rsa), RangeError);

      // Flip one byte of the second check word: the key no longer reads as decrypted.
      const body = Buffer.from(pem.toString().split('\n').slice(1, -2).join(''), 'base64');
      const damaged = Buffer.from(body);
      // The second 'ssh-ed25519' is the private section's; check2 is 8 bytes before it.
      const at = damaged.indexOf(Buffer.from('ssh-ed25519'), 60) - 8;
      damaged[at] = (damaged[at] ?? 0) ^ 1;
      const damagedPem = Buffer.concat([
        Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\n'),
        base64Lines(damaged),
        Buffer.from('-----END OPENSSH PRIVATE KEY-----\n'),
      ]);
      assert.throws(() => opensshSeedFromPem(damagedPem), RangeError);
      assert.throws(() => opensshSeedFromPem(Buffer.from('garbage')), RangeError);
      assert.throws(
        () => opensshSeedFromPem(Buffer.concat([Buffer.from('x'), pem])),
        RangeError,
        'text before the PEM',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
