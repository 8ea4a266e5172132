/** The hand-written OpenSSH encoders, checked against Node's base64 and OpenSSH's ssh-keygen. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  base64Lines,
  parseEd25519Certificate,
  rawEd25519PublicKey,
  signUserCertificate,
} from '../../src/credentials/openssh.js';
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
