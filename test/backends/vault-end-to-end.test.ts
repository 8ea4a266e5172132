/**
 * The `vault` backend end to end, double-backed: a broker configured with `kind: vault`
 * (AppRole login) against the Vault double (test/peers/vault-double), over real HTTP.
 * - SSH: a certificate the double's SSH CA signed for the AC's login, used against a real
 *   OpenSSH sshd that trusts that CA only;
 * - HTTP with an identity token, to a small API that verifies it against the double's
 *   `/v1/identity/oidc/.well-known/keys`, its issuer and the role's client id;
 * - HTTP with a leased secret, to an API that accepts only live leases' tokens: the lease
 *   is revoked at the double once the invocation is over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { SSHD_USER, type Sshd, startSshd } from '../helpers/sshd.js';
import { BOUND_SSH_ROLE, startVaultDouble, type VaultDouble } from '../peers/vault-double/index.js';

/** An API that answers 200 when `accept(token)` holds, 401 otherwise; keeps what it saw. */
async function api(accept: (token: string) => Promise<boolean>) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    seen.push(token);
    void accept(token).then((ok) => res.writeHead(ok ? 200 : 401).end(ok ? '{"ok":true}' : ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('the vault backend through the broker (double-backed)', () => {
  const alice = generatePrincipalKey();
  const dir = mkdtempSync(join(tmpdir(), 'bastion-vault-e2e-'));
  let vault: VaultDouble;
  let sshd: Sshd;
  let identityApi: Awaited<ReturnType<typeof api>>;
  let leaseApi: Awaited<ReturnType<typeof api>>;
  let server: RunningServer;
  let client: BastionClient;

  before(async () => {
    vault = await startVaultDouble({
      sshRoles: { bastion: { allowedUsers: [SSHD_USER], ...BOUND_SSH_ROLE } },
      identityRoles: { 'api-reader': { ttl: 120 } },
      consulRoles: { reader: { ttl: 120 } },
    });
    sshd = await startSshd({
      caPublicKeys: [vault.ssh.caPublicKey],
      principals: { [SSHD_USER]: [SSHD_USER] },
    });
    const keys = createLocalJWKSet(vault.jwks());
    identityApi = await api((token) =>
      jwtVerify(token, keys, {
        issuer: `${vault.address}/v1/identity/oidc`,
        audience: vault.identity.clientIds.get('api-reader') ?? '',
      }).then(
        () => true,
        () => false,
      ),
    );
    leaseApi = await api((token) => Promise.resolve(vault.leases.isLive(token)));
    writeFileSync(join(dir, 'known_hosts'), sshd.knownHostsText);
    const yaml = `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: silent
backends:
  - kind: vault
    id: vault-test
    address: ${vault.address}
    auth: { approle: { role_id: ${vault.roleId}, secret_id_env: TEST_VAULT_SECRET_ID } }
    ssh: { mount: ssh-client-signer, role: bastion, ttl: 2m }
    tokens:
      "${identityApi.url}": { identity_role: api-reader }
      "${leaseApi.url}": { lease_path: consul/creds/reader, token_field: token }
connectors:
  ssh: { known_hosts: ${join(dir, 'known_hosts')}, hosts: { "127.0.0.1": { port: ${sshd.port} } } }
accords:
  - id: ssh-ops
    principals: [${alice.did}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ${SSHD_USER}
  - id: apis
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${identityApi.url}", "${leaseApi.url}"]
    capabilities: [read]
    max_duration: 15m
`;
    const config = parseConfig(yaml, join(dir, 'bastion.yaml'));
    server = await startServer({
      config,
      logDestination: false,
      env: { ...process.env, TEST_VAULT_SECRET_ID: vault.secretId },
    });
    client = new BastionClient({ url: server.url, key: alice });
  });

  after(async () => {
    await server?.close();
    await identityApi?.close();
    await leaseApi?.close();
    await sshd?.stop();
    await vault?.close();
  });

  async function ac(accord: string, connector: string, target: string, capability: string) {
    const r = await client.authorize({
      accord,
      connector,
      target,
      capabilities: [capability],
      duration_seconds: 300,
    });
    if (r.status !== 'active') throw new Error('expected an active AC');
    return r.ac;
  }

  it('runs a command over SSH with a certificate the Vault SSH CA signed', async () => {
    const token = await ac('ssh-ops', 'ssh', '127.0.0.1', 'exec');
    const before = vault.ssh.signed;
    const r = await client.invoke<{ stdout: string; exit_code: number; timed_out: boolean }>(
      'ssh',
      token,
      {
        target: '127.0.0.1',
        operation: { argv: ['echo', 'signed by vault'] },
      },
    );
    assert.equal(r.result.stdout, 'signed by vault\n');
    assert.equal(r.credential.issued_by, 'vault-test');
    assert.equal(vault.ssh.signed, before + 1, 'one certificate per invocation');
    assert.match(
      sshd.log(),
      /Accepted certificate ID "bastion ac=[^"]+" \(serial \d+\) signed by ED25519 CA/,
    );
    assert.match(
      sshd.log(),
      /Starting session: forced-command \(key-option\) 'echo 'signed by vault'' for /,
      'Vault signed the certificate bound to the command',
    );
  });

  it('calls an API with an identity token the API verifies against the double’s keys', async () => {
    const token = await ac('apis', 'http', identityApi.url, 'read');
    const r = await client.invoke<{ status: number; timed_out: boolean }>('http', token, {
      target: identityApi.url,
      operation: { method: 'GET', path: '/data' },
    });
    assert.equal(r.result.status, 200);
    assert.equal(r.credential.issued_by, 'vault-test');
    assert.equal(identityApi.seen.length, 1);
  });

  it('calls an API with a leased secret, and the lease is revoked at the double afterwards', async () => {
    const token = await ac('apis', 'http', leaseApi.url, 'read');
    const revokedBefore = vault.leases.revoked.length;
    const r = await client.invoke<{ status: number; timed_out: boolean }>('http', token, {
      target: leaseApi.url,
      operation: { method: 'GET', path: '/data' },
    });
    assert.equal(r.result.status, 200, 'the API took the live lease’s token');
    const used = leaseApi.seen.at(-1) ?? '';
    assert.equal(vault.leases.isLive(used), false, 'the token is dead once the invocation is over');
    assert.equal(vault.leases.revoked.length, revokedBefore + 1);
    assert.equal(vault.leases.leases.size, 0, 'no lease left at the double');
  });

  it('logs in once and keeps using its token (in a Secret), and revokes it at shutdown', async () => {
    assert.equal(vault.auth.logins, 1);
    assert.ok(
      vault.seen.every((s) => s.vaultRequestHeader),
      'X-Vault-Request on every call',
    );
    await server.close();
    assert.equal(vault.auth.tokens.size, 0, 'revoke-self at close');
    assert.equal(vault.seen.at(-1)?.path, 'auth/token/revoke-self');
  });
});
