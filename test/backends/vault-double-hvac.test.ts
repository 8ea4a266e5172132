/**
 * The Vault double checked by a third-party client: the official Python client hvac
 * (PyPI) drives it through every endpoint Bastion uses — health, AppRole and JWT login,
 * lookup/renew/revoke-self, SSH signing, an identity token and its keys, a lease read,
 * looked up and revoked — and a 403 for a wrong token; test/peers/vault_hvac.py prints what
 * hvac parsed, and this test checks it against what the double did. So the double speaks
 * Vault's API, not a dialect only Bastion understands. scripts/test-all.sh installs hvac
 * into a cache keyed by its version (package.json); without it the test is skipped, except
 * in CI, where that fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { parseEd25519Certificate } from '../../src/ssh/certificate.js';
import { ed25519PublicKeyLine } from '../../src/ssh/ed25519.js';
import { ephemeralEd25519Key } from '../../src/ssh/ephemeral-key.js';
import { repoRoot } from '../helpers/paths.js';
import { startVaultDouble, type VaultDouble } from '../peers/vault-double/index.js';
import { skipWithoutFile } from '../helpers/peer-skip.js';
import { pinnedVersion, TOOLS_CACHE } from '../helpers/tools.js';

const HVAC_VERSION = pinnedVersion('hvac');
const PYTHON = join(TOOLS_CACHE, `hvac-${HVAC_VERSION}`, 'bin', 'python');

function runHvac(
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [join(repoRoot, 'test', 'peers', 'vault_hvac.py')], {
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('the Vault double (double-backed), driven by hvac', () => {
  let double: VaultDouble;
  let jwt: string;

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'workload', alg: 'EdDSA' };
    double = await startVaultDouble({
      jwt: { jwks: { keys: [jwk] }, boundAudiences: ['vault'] },
      sshRoles: {
        bastion: {
          allowedUsers: ['ops'],
          allowedExtensions: 'permit-pty',
          allowedCriticalOptions: 'force-command,source-address',
        },
      },
      identityRoles: { 'api-reader': { ttl: 120, claims: { purpose: 'hvac' } } },
      consulRoles: { reader: { ttl: 120 } },
    });
    jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'workload' })
      .setSubject('bastion-broker')
      .setAudience('vault')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  });

  after(() => double?.close());

  it('hvac parses every reply, and each says what the double did', async (t) => {
    const missing = skipWithoutFile(PYTHON, 'hvac', 'scripts/test-all.sh');
    if (missing !== false) {
      t.skip(missing);
      return;
    }
    const key = ephemeralEd25519Key('hvac');
    const { code, out, err } = await runHvac({
      VAULT_ADDR: double.address,
      VAULT_ROLE_ID: double.roleId,
      VAULT_SECRET_ID: double.secretId,
      VAULT_SSH_MOUNT: 'ssh-client-signer',
      VAULT_SSH_ROLE: 'bastion',
      VAULT_SSH_PRINCIPAL: 'ops',
      VAULT_SSH_PUBLIC_KEY: ed25519PublicKeyLine(key.publicKey32, 'hvac'),
      VAULT_OIDC_ROLE: 'api-reader',
      VAULT_CONSUL_ROLE: 'reader',
      VAULT_JWT: jwt,
    });
    assert.equal(code, 0, `hvac failed:\n${err}`);
    const r = JSON.parse(out);

    assert.deepEqual(r.health, { initialized: true, sealed: false });
    assert.equal(r.health_head, 200);
    assert.deepEqual(r.login, {
      lease_duration: 1200,
      renewable: true,
      policies: ['default', 'bastion'],
    });
    assert.equal(r.authenticated, true);
    assert.equal(r.lookup_self.path, 'auth/approle/login');
    assert.equal(r.lookup_self.entity_id, 'entity-bastion');
    assert.equal(r.renew_self, 600);
    assert.equal(double.auth.renewals, 1);

    const cert = parseEd25519Certificate(r.ssh.signed_key);
    assert.deepEqual(cert.principals, ['ops']);
    assert.ok(cert.publicKey32.equals(key.publicKey32), 'the key hvac sent was certified');
    assert.equal(cert.serial.toString(16), r.ssh.serial_number);
    assert.equal(Number(cert.validBefore - cert.validAfter), 120 + 30, 'ttl 120s, backdated 30s');
    assert.deepEqual(cert.extensions, ['permit-pty'], "the role's default extensions");
    assert.match(cert.keyId, /^vault-approle-[0-9a-f]{64}$/, "Vault's key id when none is asked");
    const bound = parseEd25519Certificate(r.ssh_bound);
    assert.deepEqual(
      bound.criticalOptions,
      { 'force-command': "echo 'it''s' ok", 'source-address': '127.0.0.1/32' },
      'the critical options hvac sent, as maps, are in the certificate',
    );
    assert.deepEqual(bound.extensions, ['permit-pty'], 'the extensions asked for');
    assert.deepEqual(r.ssh_option_refused, {
      status: 400,
      errors: ['critical options not on allowed list: [permit-everything]'],
    });
    assert.deepEqual(r.ssh_refused, {
      status: 400,
      errors: ['not-allowed is not a valid value for valid_principals'],
    });

    const verified = await jwtVerify(r.identity.token, createLocalJWKSet(r.keys), {
      issuer: `${double.address}/v1/identity/oidc`,
      audience: r.identity.client_id,
    });
    assert.equal(verified.payload['purpose'], 'hvac');
    assert.equal(verified.payload.sub, 'entity-bastion');
    assert.equal(r.identity.ttl, 120);
    assert.equal(decodeJwt(r.identity.token).exp! - decodeJwt(r.identity.token).iat!, 120);

    assert.match(r.lease.lease_id, /^consul\/creds\/reader\/\S+$/);
    assert.equal(r.lease.lease_duration, 120);
    assert.equal(r.lease_lookup.id, r.lease.lease_id);
    assert.equal(r.lease_lookup.renewable, true);
    assert.equal(r.lease_revoke_status, 204);
    assert.deepEqual(r.lease_after_revoke, { status: 400, errors: ['invalid lease'] });
    assert.deepEqual(double.leases.revoked, [r.lease.lease_id]);
    assert.equal(double.leases.isLive(r.lease.token), false, 'the revoked secret is dead');

    assert.deepEqual(r.wrong_token, { status: 403, errors: ['permission denied'] });
    assert.equal(r.after_revoke_self, 403);
    assert.deepEqual(r.jwt_login, { entity_id: 'entity-jwt-bastion-broker', authenticated: true });
    assert.equal(double.auth.logins, 2);
  });
});
