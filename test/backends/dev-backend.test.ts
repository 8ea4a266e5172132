/**
 * The dev backend against the real tools that consume its output: OpenSSH's ssh-keygen
 * parses (and checks the CA signature of) its certificates and reads its private keys;
 * jose verifies its tokens against its JWKS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { ManualClock } from '../../src/base/clock.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { OPENSSH_DEFAULT_EXTENSIONS, parseEd25519Certificate } from '../../src/ssh/certificate.js';
import { ed25519PublicKeyLine } from '../../src/ssh/ed25519.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { acFor } from '../helpers/backends.js';
import { run } from '../helpers/run.js';

const HOST = 'db1.internal.test';
// Half a second past a whole second, so truncation to whole seconds is visible.
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0) + 500;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

async function issueCert(options: { principals?: string[]; clock?: ManualClock } = {}) {
  const clock = options.clock ?? new ManualClock(T0);
  const dev = await DevBackend.create({ clock });
  const ac = acFor(HOST, T0, { ssh_principals: options.principals ?? ['alice', 'ops'] });
  const cred = await dev.resolve('ssh_cert', HOST, ac);
  return { dev, cred, ac };
}

function keygenList(certificate: string): Map<string, string> {
  const r = run('ssh-keygen', ['-L', '-f', '/dev/stdin'], certificate + '\n');
  assert.equal(r.status, 0, r.stderr);
  const fields = new Map<string, string>();
  let key = '';
  for (const line of r.stdout.split('\n').slice(1)) {
    const m = /^\s+([A-Za-z ]+):\s?(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      key = m[1];
      fields.set(key, m[2].trim());
    } else if (line.trim() !== '') {
      fields.set(key, `${fields.get(key) ?? ''} ${line.trim()}`.trim());
    }
  }
  return fields;
}

describe('dev backend: ssh_cert', () => {
  it('issues a certificate ssh-keygen -L accepts, with the window and principals asked for', async () => {
    const { dev, cred } = await issueCert();
    const f = keygenList(cred.certificate);
    assert.equal(f.get('Type'), 'ssh-ed25519-cert-v01@openssh.com user certificate');
    assert.equal(f.get('Serial'), cred.id);
    assert.equal(f.get('Principals'), 'alice ops');
    assert.equal(f.get('Critical Options'), '(none)');
    assert.equal(f.get('Extensions'), [...OPENSSH_DEFAULT_EXTENSIONS].sort().join(' '));
    // valid-after backdated by the 30 s skew allowance; valid-before ≤ now + 5 min.
    assert.equal(f.get('Valid'), `from ${iso(T0 - 30_000)} to ${iso(T0 + 300_000)}`);
    assert.equal(cred.expiresAt.getTime(), Math.floor((T0 + 300_000) / 1000) * 1000);
    assert.ok(cred.expiresAt.getTime() <= T0 + 300_000);
    assert.equal(cred.notBefore?.getTime(), Math.floor((T0 - 30_000) / 1000) * 1000);
    assert.match(f.get('Key ID') ?? '', /^"bastion:dev ac=ac-0001 sub=did:key:z6MkTestPrincipal"$/);

    const ca = run('ssh-keygen', ['-l', '-f', '/dev/stdin'], dev.caPublicKey() + '\n');
    assert.equal(ca.status, 0, ca.stderr);
    const caFingerprint = ca.stdout.split(' ')[1] ?? 'none';
    assert.equal(f.get('Signing CA'), `ED25519 ${caFingerprint} (using ssh-ed25519)`);
  });

  it('signs for real: ssh-keygen refuses a certificate with a changed principal', async () => {
    const { cred } = await issueCert({ principals: ['alice'] });
    const [algo, b64] = cred.certificate.split(' ');
    const blob = Buffer.from(b64 ?? '', 'base64');
    const at = blob.indexOf('alice');
    blob[at] = 'm'.charCodeAt(0);
    const r = run('ssh-keygen', ['-L', '-f', '/dev/stdin'], `${algo} ${blob.toString('base64')}\n`);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /incorrect signature/);
  });

  it('hands out the private key of the certified public key, in a form ssh-keygen reads', async () => {
    const { cred } = await issueCert();
    const pem = cred.privateKey.unsafeReveal();
    assert.match(pem.toString(), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const r = run('ssh-keygen', ['-y', '-f', '/dev/stdin'], pem);
    assert.equal(r.status, 0, r.stderr);
    const certified = parseEd25519Certificate(cred.certificate).publicKey32;
    assert.equal(r.stdout.trim(), ed25519PublicKeyLine(certified, 'bastion-ephemeral'));
  });

  it('uses a fresh key pair and serial for every call', async () => {
    const clock = new ManualClock(T0);
    const dev = await DevBackend.create({ clock });
    const ac = acFor(HOST, T0);
    const a = await dev.resolve('ssh_cert', HOST, ac);
    const b = await dev.resolve('ssh_cert', HOST, ac);
    assert.notDeepEqual(
      parseEd25519Certificate(a.certificate).publicKey32,
      parseEd25519Certificate(b.certificate).publicKey32,
    );
    assert.notEqual(a.id, b.id);
    assert.equal(a.privateKey.equals(b.privateKey), false);
  });

  for (const principals of [[], ['*'], ['root', '*'], ['a b'], ['-oProxyCommand=x']]) {
    it(`refuses SSH principals ${JSON.stringify(principals)}`, async () => {
      await assert.rejects(issueCert({ principals }), (e: unknown) => {
        assert.ok(e instanceof CredentialResolutionError);
        assert.equal(e.reason, 'invalid_credential_request');
        return true;
      });
    });
  }

  it('passes the resolver checks with default settings, and revoke is recorded', async () => {
    const clock = new ManualClock(T0);
    const dev = await DevBackend.create({ clock });
    const resolver = new CredentialResolver({ clock });
    resolver.register(dev);
    const cred: SshCertCredential = await resolver.resolve('ssh_cert', HOST, acFor(HOST, T0));
    assert.equal(cred.issuedBy, 'dev');
    await resolver.discard(cred);
    assert.equal(dev.isRevoked(cred.id ?? ''), true);
    assert.equal(cred.privateKey.disposed, true);
    clock.advance(301_000);
    assert.equal(dev.isRevoked(cred.id ?? ''), false, 'forgotten once it expired by itself');
  });

  it('a dev backend set to outlive the max TTL is refused by the resolver', async () => {
    const clock = new ManualClock(T0);
    const resolver = new CredentialResolver({ clock });
    resolver.register(await DevBackend.create({ clock, ttlMs: 10 * 60_000 }));
    await assert.rejects(resolver.resolve('ssh_cert', HOST, acFor(HOST, T0)), /exceeds_max_ttl/);
  });
});

describe('dev backend: oauth', () => {
  it('issues a JWT that verifies against its JWKS with audience = target', async () => {
    const dev = await DevBackend.create();
    const now = Date.now();
    const target = 'https://api.internal.test';
    const ac = acFor(target, now, { capabilities: ['read', 'write'] });
    const cred = await dev.resolve('oauth', target, ac);
    const token = cred.accessToken.unsafeReveal().toString();
    const jwks = createLocalJWKSet(dev.jwks());
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: dev.issuer,
      audience: target,
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    });
    assert.equal(protectedHeader.kid, dev.jwks().keys[0]?.kid);
    assert.equal(payload.sub, ac.principal_did);
    assert.equal(payload['scope'], 'read write');
    assert.equal(payload.jti, cred.id);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
    assert.equal(cred.expiresAt.getTime(), (payload.exp ?? 0) * 1000);
    assert.equal(cred.tokenType, 'Bearer');

    await assert.rejects(jwtVerify(token, jwks, { audience: 'https://other.test' }), /aud/);
    const other = await DevBackend.create();
    await assert.rejects(jwtVerify(token, createLocalJWKSet(other.jwks())));
    assert.equal(decodeProtectedHeader(token).alg, 'EdDSA');
  });

  it('publishes only public key material', async () => {
    const dev = await DevBackend.create();
    const [jwk] = dev.jwks().keys;
    assert.deepEqual(Object.keys(jwk ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    assert.match(dev.caPublicKey(), /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA[A-Za-z0-9+/=]+ dev-ca$/);
  });
});
