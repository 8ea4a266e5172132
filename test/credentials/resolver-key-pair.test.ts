/**
 * An ssh_cert credential is a certificate and the private key it certifies: the resolver
 * refuses one whose certificate certifies another key (found by deriving the public key
 * from the private key's seed, not by trusting the public half the PEM states), revokes it
 * at its issuer, wipes it, and asks the next backend.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/base/clock.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { signUserCertificate } from '../../src/ssh/certificate.js';
import { rawEd25519PublicKey, rawEd25519Seed } from '../../src/ssh/ed25519.js';
import { opensshPrivateKeyPem } from '../../src/ssh/private-key.js';
import { TARGET, acFor, scriptedBackend } from '../helpers/backends.js';
import { capturedLogger } from '../helpers/logs.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const ca = generateKeyPairSync('ed25519').privateKey;
const newKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey;

interface Pair {
  /** The key the certificate certifies. */
  certified: KeyObject;
  /** The key whose seed is in the PEM. */
  seedOf: KeyObject;
  /** The public half the PEM states; the seed's own by default. */
  statedPublicOf?: KeyObject;
  certificate?: string;
}

function sshCredential(issuedBy: string, pair: Pair): SshCertCredential {
  const certificate =
    pair.certificate ??
    signUserCertificate({
      caPrivateKey: ca,
      userPublicKey32: rawEd25519PublicKey(pair.certified),
      serial: 7n,
      keyId: 'key-pair-test',
      principals: ['alice'],
      validAfter: T0 / 1000 - 60,
      validBefore: T0 / 1000 + 120,
    });
  const seed = rawEd25519Seed(pair.seedOf);
  const pem = opensshPrivateKeyPem(seed, rawEd25519PublicKey(pair.statedPublicOf ?? pair.seedOf));
  seed.fill(0);
  return {
    type: 'ssh_cert',
    target: TARGET,
    certificate,
    privateKey: Secret.adopt(pem),
    principals: ['alice'],
    scopedTo: 'ssh as alice',
    issuedBy,
    expiresAt: new Date(T0 + 60_000),
  };
}

function setup() {
  const log = capturedLogger();
  const resolver = new CredentialResolver({ clock: new ManualClock(T0), logger: log.logger });
  const reasonFor = (backend: string): unknown =>
    log.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['backend'] === backend)?.['reason'];
  return { resolver, reasonFor, ac: acFor(TARGET, T0) };
}

describe('CredentialResolver: an ssh_cert certificate and its private key', () => {
  it('hands on a certificate that certifies the key it comes with', async () => {
    const { resolver } = setup();
    const key = newKey();
    const issued = sshCredential('a', { certified: key, seedOf: key });
    resolver.register(scriptedBackend('a', () => Promise.resolve(issued), { types: ['ssh_cert'] }));
    const got = await resolver.resolve('ssh_cert', TARGET, acFor(TARGET, T0));
    assert.equal(got.certificate, issued.certificate);
    assert.equal(got.privateKey.disposed, false);
  });

  const refusals: { name: string; pair: () => Pair; reason: string }[] = [
    {
      name: 'a certificate for another key',
      pair: () => ({ certified: newKey(), seedOf: newKey() }),
      reason: 'certificate_key_mismatch',
    },
    {
      // The PEM states the certified public key, but its seed is another key's: only
      // deriving the public key from the seed finds it.
      name: "a PEM whose stated public key is the certificate's but whose seed is not",
      pair: () => {
        const certified = newKey();
        return { certified, seedOf: newKey(), statedPublicOf: certified };
      },
      reason: 'certificate_key_mismatch',
    },
    {
      name: 'a certificate that does not parse',
      pair: () => {
        const key = newKey();
        return {
          certified: key,
          seedOf: key,
          certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA',
        };
      },
      reason: 'malformed_credential',
    },
  ];

  for (const { name, pair, reason } of refusals) {
    it(`refuses ${name} (${reason}): revoked, wiped, and the next backend asked`, async () => {
      const { resolver, reasonFor, ac } = setup();
      const bad = sshCredential('a', pair());
      const key = newKey();
      const good = sshCredential('b', { certified: key, seedOf: key });
      const a = scriptedBackend('a', () => Promise.resolve(bad), { types: ['ssh_cert'] });
      resolver.register(a);
      resolver.register(scriptedBackend('b', () => Promise.resolve(good), { types: ['ssh_cert'] }));
      const got = await resolver.resolve('ssh_cert', TARGET, ac);
      assert.equal(got.issuedBy, 'b');
      assert.equal(reasonFor('a'), reason);
      assert.deepEqual(a.revoked, [bad], 'revoked at its issuer');
      assert.equal(bad.privateKey.disposed, true, 'wiped');
    });
  }

  it('fails the resolution when the only backend returns a mismatched pair', async () => {
    const { resolver, ac } = setup();
    const bad = sshCredential('a', { certified: newKey(), seedOf: newKey() });
    resolver.register(scriptedBackend('a', () => Promise.resolve(bad), { types: ['ssh_cert'] }));
    await assert.rejects(resolver.resolve('ssh_cert', TARGET, ac), (err: unknown) => {
      assert.ok(err instanceof CredentialResolutionError);
      assert.deepEqual(err.attempts, [{ backend: 'a', reason: 'certificate_key_mismatch' }]);
      return true;
    });
    assert.equal(bad.privateKey.disposed, true);
  });
});
