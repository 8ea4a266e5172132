/**
 * Credentials bound to one invocation (credentials/binding.ts): the certificate options a
 * binding means, computed in one place; the resolver's check that an ssh_cert carries
 * exactly them (a backend that ignores the binding is refused, revoked, wiped, and the next
 * one asked) — each negative test fails if its check is removed. The SSH connector's own
 * check at the moment of use: test/connectors/ssh-binding.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import type { CredentialBackend } from '../../src/credentials/backend.js';
import {
  certificateHonours,
  type CredentialBinding,
  sshCertificateBinding,
  sshCommandBinding,
} from '../../src/credentials/binding.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { parseEd25519Certificate } from '../../src/ssh/certificate.js';
import { acFor } from '../helpers/backends.js';

const HOST = 'db1.internal.test';
const ac = () => acFor(HOST, Date.now(), { connector: 'ssh', ssh_principals: ['ops'] });
const BINDING: CredentialBinding = {
  sshCommand: "echo 'a b'",
  sshSourceAddresses: ['10.0.0.5/32', '2001:db8::/64'],
};

/** The dev backend under another id, passing the binding on or not. */
function devAs(id: string, dev: DevBackend, forwards: boolean): CredentialBackend {
  return {
    id,
    supportedTypes: ['ssh_cert'],
    async resolve(type, target, context, signal, binding) {
      const c = await dev.resolve(type, target, context, signal, forwards ? binding : undefined);
      return { ...c, issuedBy: id };
    },
    revoke: () => Promise.resolve(),
  };
}

describe('what a binding means for an SSH certificate', () => {
  it('forces the command, restricts the source when addresses are given, and allows no extension', () => {
    assert.deepEqual(sshCertificateBinding(BINDING), {
      criticalOptions: {
        'force-command': "echo 'a b'",
        'source-address': '10.0.0.5/32,2001:db8::/64',
      },
      extensions: [],
    });
    assert.deepEqual(sshCommandBinding('id').criticalOptions, { 'force-command': 'id' });
    assert.equal(sshCertificateBinding(undefined), undefined, 'no command, no binding');
    assert.equal(sshCertificateBinding({ sshSourceAddresses: ['10.0.0.5'] }), undefined);
  });

  it('a certificate honours it only with exactly those options and extensions', () => {
    const want = sshCommandBinding('id', ['10.0.0.5']);
    const exact = { criticalOptions: { ...want.criticalOptions }, extensions: [] };
    assert.equal(certificateHonours(exact, want), true);
    for (const other of [
      { ...exact, criticalOptions: { 'force-command': 'id' } },
      { ...exact, criticalOptions: { ...exact.criticalOptions, 'force-command': 'id; sh' } },
      { ...exact, criticalOptions: { ...exact.criticalOptions, 'verify-required': '' } },
      { ...exact, extensions: ['permit-pty'] },
    ]) {
      assert.equal(certificateHonours(other, want), false, JSON.stringify(other));
    }
  });
});

describe('the resolver and a binding', () => {
  it('asks the backend for it, and hands on a certificate that carries it', async () => {
    const dev = await DevBackend.create();
    const resolver = new CredentialResolver();
    resolver.register(devAs('a', dev, true));
    const c = await resolver.resolve('ssh_cert', HOST, ac(), { binding: BINDING });
    const cert = parseEd25519Certificate(c.certificate);
    assert.deepEqual(cert.criticalOptions, sshCertificateBinding(BINDING)?.criticalOptions);
    assert.deepEqual(cert.extensions, []);
    c.privateKey.dispose();
  });

  it('refuses a certificate from a backend that ignores it: revoked, wiped, and the next backend asked', async () => {
    const dev = await DevBackend.create();
    const resolver = new CredentialResolver();
    const issued: SshCertCredential[] = [];
    const ignoring = devAs('a', dev, false);
    const revoked: unknown[] = [];
    resolver.register({
      ...ignoring,
      async resolve(type, target, context, signal, binding) {
        const c = (await ignoring.resolve(type, target, context, signal, binding)) as never;
        issued.push(c);
        return c;
      },
      revoke: (c) => Promise.resolve(void revoked.push(c)),
    });
    resolver.register(devAs('b', dev, true));
    const c = await resolver.resolve('ssh_cert', HOST, ac(), { binding: BINDING });
    assert.equal(c.issuedBy, 'b');
    assert.equal(issued.length, 1);
    assert.deepEqual(revoked, issued, 'revoked at its issuer');
    assert.equal(issued[0]?.privateKey.disposed, true, 'wiped');
    c.privateKey.dispose();

    const alone = new CredentialResolver();
    alone.register(devAs('a', dev, false));
    await assert.rejects(
      alone.resolve('ssh_cert', HOST, ac(), { binding: BINDING }),
      (err: unknown) => {
        assert.ok(err instanceof CredentialResolutionError);
        assert.deepEqual(err.attempts, [{ backend: 'a', reason: 'certificate_binding_mismatch' }]);
        return true;
      },
    );
  });
});
