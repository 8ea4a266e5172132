import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { ConfigError, InvalidArgumentError } from '../../src/base/errors.js';
import {
  didFromJwk,
  didFromPublicKey,
  ed25519Thumbprint,
  generatePrincipalKey,
  jwkFromDid,
  publicKeyFromDid,
  readPrincipalKey,
  writePrincipalKey,
} from '../../src/governance/did-key.js';

describe('did:key', () => {
  it('matches the did:key spec test vector for Ed25519', () => {
    // From the did:key specification's Ed25519 examples.
    const did = 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp';
    const raw = publicKeyFromDid(did);
    assert.equal(raw.byteLength, 32);
    assert.equal(didFromPublicKey(raw), did);
    assert.deepEqual(jwkFromDid(did), {
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik',
    });
    assert.equal(didFromJwk(jwkFromDid(did)), did);
  });

  it('takes the RFC 7638 thumbprint synchronously, as jose computes it', async () => {
    // RFC 8037 appendix A.3's Ed25519 key and thumbprint, then fresh keys against jose.
    const x = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
    assert.equal(ed25519Thumbprint(x), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    for (let i = 0; i < 20; i += 1) {
      const { publicJwk } = generatePrincipalKey();
      assert.equal(ed25519Thumbprint(publicJwk.x ?? ''), await calculateJwkThumbprint(publicJwk));
    }
  });

  it('refuses what is not an Ed25519 did:key', () => {
    for (const bad of [
      'did:web:example.com',
      'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme',
      'did:key:z6Mk0OIl',
      '',
    ]) {
      assert.throws(() => publicKeyFromDid(bad), InvalidArgumentError, bad);
    }
    assert.equal(didFromJwk({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }), undefined);
    assert.equal(didFromJwk({ kty: 'OKP', crv: 'Ed25519', x: 'short' }), undefined);
  });

  it('keygen writes a 0600 key that reads back to the same DID and never overwrites', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-key-'));
    const file = join(dir, 'sub', 'alice.key');
    const key = writePrincipalKey(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readPrincipalKey(file).did, key.did);
    assert.throws(() => writePrincipalKey(file), ConfigError);
    chmodSync(file, 0o644);
    assert.throws(() => readPrincipalKey(file), /chmod 600/);
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'not a key', { mode: 0o600 });
    assert.throws(() => readPrincipalKey(junk), /PKCS#8/);
  });
});
