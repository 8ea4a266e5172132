/**
 * The `vault` backend against the Vault double (double-backed: test/peers/vault-double,
 * itself checked by hvac): what it asks Vault for, what it checks in what comes back, and
 * how every failure reaches the resolver — a fixed reason, never Vault's own text. Each
 * negative test names the check it would get past if that check were removed.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ManualClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import { vaultPlugin } from '../../src/backends/vault/plugin.js';
import { VaultBackend, type VaultBackendOptions } from '../../src/backends/vault/vault-backend.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AcContext } from '../../src/credentials/types.js';
import { parseEd25519Certificate } from '../../src/ssh/certificate.js';
import { rawEd25519PublicKey } from '../../src/ssh/ed25519.js';
import { acFor } from '../helpers/backends.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';
import { capturedLogger } from '../helpers/logs.js';
import type { CertificateDraft } from '../peers/vault-double/engines.js';
import { BOUND_SSH_ROLE, startVaultDouble, type VaultDouble } from '../peers/vault-double/index.js';

const API = 'https://api.internal.test';
const LEASED = 'https://consul.internal.test';
const HOST = 'db1.internal.test';

/** What the SSH connector binds an invocation's certificate to (credentials/binding.ts). */
const BOUND = { sshCommand: "echo 'a b'", sshSourceAddresses: ['10.0.0.5/32'] };

const sshAc = (now: number, overrides: Partial<AcContext> = {}): AcContext =>
  acFor(HOST, now, { connector: 'ssh', ssh_principals: ['ops'], ...overrides });

async function reasonOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (err instanceof CredentialResolutionError) {
      return err.attempts.length > 0 ? (err.attempts[0]?.reason ?? '') : err.reason;
    }
    throw err;
  }
  throw new Error('expected a refusal');
}

/** An answer the double gives instead of its own, for requests whose path matches. */
function answer(double: VaultDouble, path: RegExp, reply: (res: ServerResponse) => void): void {
  double.intercept = (req, res) => {
    if (!path.test(req.path)) return false;
    reply(res);
    return true;
  };
}

describe('the vault backend (double-backed)', () => {
  let double: VaultDouble;
  const clock = new ManualClock();
  const backends: VaultBackend[] = [];

  function backend(overrides: Partial<VaultBackendOptions> = {}): VaultBackend {
    const b = new VaultBackend({
      id: 'vault',
      address: double.address,
      login: {
        method: 'approle',
        mount: 'approle',
        roleId: double.roleId,
        secretId: Secret.fromString(double.secretId),
      },
      ssh: { mount: 'ssh-client-signer', role: 'bastion' },
      tokens: new Map([
        [API, { identityRole: 'api-reader' }],
        [LEASED, { leasePath: 'consul/creds/reader', tokenField: 'token' }],
      ]),
      clock,
      timeoutMs: 2000,
      ...overrides,
    });
    backends.push(b);
    return b;
  }

  function resolver(b: VaultBackend): CredentialResolver {
    const r = new CredentialResolver({ clock, logger: silentLogger });
    r.register(b);
    return r;
  }

  before(async () => {
    double = await startVaultDouble({
      now: () => clock.now(),
      approle: { tokenTtl: 60, tokenMaxTtl: 3600 },
      sshRoles: {
        bastion: { allowedUsers: ['ops', 'dba'], maxTtl: 900 },
        bound: { allowedUsers: ['ops'], ...BOUND_SSH_ROLE },
      },
      identityRoles: { 'api-reader': { ttl: 120 }, 'too-long': { ttl: 3600 } },
      consulRoles: { reader: { ttl: 120 }, 'too-long': { ttl: 3600 } },
    });
  });

  after(async () => {
    for (const b of backends) await b.close();
    await double.close();
  });

  describe('issues', () => {
    it('ssh_cert: a fresh key, certified for the AC’s login with the AC id, for at most the window', async () => {
      const b = backend({ ssh: { mount: 'ssh-client-signer', role: 'bastion', ttlSeconds: 120 } });
      const now = clock.now();
      const c = await resolver(b).resolve('ssh_cert', HOST, sshAc(now));
      const cert = parseEd25519Certificate(c.certificate);
      assert.deepEqual(cert.principals, ['ops']);
      assert.equal(cert.keyId, 'bastion ac=ac-0001 sub=did:key:z6MkTestPrincipal');
      assert.equal(
        Number(cert.validBefore),
        Math.floor(now / 1000) + 120,
        'ttl = the configured window',
      );
      assert.equal(c.expiresAt.getTime(), Number(cert.validBefore) * 1000);
      assert.equal(c.id, cert.serial.toString());
      assert.equal(c.issuedBy, 'vault');
      const second = await b.resolve('ssh_cert', HOST, sshAc(now));
      assert.ok(
        !parseEd25519Certificate(second.certificate).publicKey32.equals(cert.publicKey32),
        'a new key each time',
      );
      for (const x of [c, second]) x.privateKey.dispose();
    });

    it('ssh_cert bound to an invocation: the request carries critical_options and extensions, the certificate exactly them', async () => {
      const b = backend({ ssh: { mount: 'ssh-client-signer', role: 'bound' } });
      const c = await resolver(b).resolve('ssh_cert', HOST, sshAc(clock.now()), { binding: BOUND });
      assert.deepEqual(double.ssh.asked.at(-1), {
        critical_options: { 'force-command': "echo 'a b'", 'source-address': '10.0.0.5/32' },
        extensions: {},
      });
      const cert = parseEd25519Certificate(c.certificate);
      assert.deepEqual(cert.criticalOptions, {
        'force-command': "echo 'a b'",
        'source-address': '10.0.0.5/32',
      });
      assert.deepEqual(cert.extensions, []);
      c.privateKey.dispose();
    });

    it('ssh_cert: the AC’s expiry shortens the ttl asked for', async () => {
      const now = clock.now();
      const c = await backend().resolve(
        'ssh_cert',
        HOST,
        sshAc(now, { expires_at: Math.floor(now / 1000) + 40 }),
      );
      const validBefore = Number(parseEd25519Certificate(c.certificate).validBefore);
      const expiresAt = Math.floor(now / 1000) + 40;
      assert.ok(validBefore <= expiresAt && validBefore >= expiresAt - 1, 'never past the AC');

      c.privateKey.dispose();
    });

    it('oauth: an identity token for a configured target; another target is not this backend’s', async () => {
      const b = backend();
      const c = await b.resolve('oauth', API, acFor(API, clock.now()));
      assert.equal(c.tokenType, 'Bearer');
      assert.equal(c.expiresAt.getTime(), Math.floor(clock.now() / 1000) * 1000 + 120_000);
      c.accessToken.dispose();
      assert.equal(
        await reasonOf(
          b.resolve('oauth', 'https://other.test', acFor('https://other.test', clock.now())),
        ),
        'unsupported_target',
      );
      assert.equal(
        await reasonOf(b.resolve('oauth', API, acFor(LEASED, clock.now()))),
        'invalid_credential_request',
      );
    });

    it('ssh targets: only the patterns configured', async () => {
      const b = backend({
        ssh: { mount: 'ssh-client-signer', role: 'bastion', targets: ['*.prod.test'] },
      });
      assert.equal(
        await reasonOf(b.resolve('ssh_cert', HOST, sshAc(clock.now()))),
        'unsupported_target',
      );
      const c = await b.resolve(
        'ssh_cert',
        'web.prod.test',
        acFor('web.prod.test', clock.now(), { ssh_principals: ['ops'] }),
      );
      c.privateKey.dispose();
    });

    it('oauth: a leased secret, whose lease is revoked at discard', async () => {
      const r = resolver(backend());
      const c = await r.resolve('oauth', LEASED, acFor(LEASED, clock.now()));
      const token = c.accessToken.unsafeReveal().toString();
      assert.ok(double.leases.isLive(token));
      assert.equal(c.id, [...double.leases.leases.keys()][0]);
      await r.discard(c);
      assert.equal(double.leases.isLive(token), false, 'revoked at the issuer');
      assert.ok(double.leases.revoked.includes(c.id ?? ''));
    });
  });

  describe('refuses what Vault should not have issued', () => {
    it('a certificate with other principals (the principals check)', async () => {
      double.ssh.tamper = (d) => (d.principals = ['dba']);
      try {
        assert.equal(
          await reasonOf(backend().resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_error',
        );
        double.ssh.tamper = (d) => d.principals.push('dba');
        assert.equal(
          await reasonOf(backend().resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_error',
        );
      } finally {
        double.ssh.tamper = undefined;
      }
    });

    it('a certificate valid beyond the window asked for (the validity check)', async () => {
      double.ssh.tamper = (d) => (d.validBefore += 3600);
      try {
        assert.equal(
          await reasonOf(backend().resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_error',
        );
      } finally {
        double.ssh.tamper = undefined;
      }
    });

    it('a certificate not yet valid, or with another key id (the validity and key id checks)', async () => {
      for (const tamper of [
        (d: { validAfter: number }) => (d.validAfter += 600),
        (d: { keyId: string }) => (d.keyId = 'someone else'),
      ]) {
        double.ssh.tamper = tamper;
        try {
          assert.equal(
            await reasonOf(backend().resolve('ssh_cert', HOST, sshAc(clock.now()))),
            'backend_error',
          );
        } finally {
          double.ssh.tamper = undefined;
        }
      }
    });

    it('a bound certificate without its critical options, with other ones, or with an extension (the binding check)', async () => {
      const bound = () =>
        backend({ ssh: { mount: 'ssh-client-signer', role: 'bound' } }).resolve(
          'ssh_cert',
          HOST,
          sshAc(clock.now()),
          undefined,
          BOUND,
        );
      for (const tamper of [
        (d: CertificateDraft) => (d.criticalOptions = {}),
        (d: CertificateDraft) => (d.criticalOptions['force-command'] = 'id'),
        (d: CertificateDraft) => delete d.criticalOptions['source-address'],
        (d: CertificateDraft) => (d.extensions = ['permit-pty']),
      ]) {
        double.ssh.tamper = tamper;
        try {
          assert.equal(await reasonOf(bound()), 'backend_error');
        } finally {
          double.ssh.tamper = undefined;
        }
      }
      // A role with default extensions gives them to a request for none: refused too.
      const withDefaults = backend().resolve(
        'ssh_cert',
        HOST,
        sshAc(clock.now()),
        undefined,
        BOUND,
      );
      assert.equal(await reasonOf(withDefaults), 'backend_error');
      assert.deepEqual(double.ssh.drafts.at(-1)?.extensions, ['permit-pty']);
    });

    it('a certificate for another key (the key check)', async () => {
      const other = rawEd25519PublicKey(generateKeyPairSync('ed25519').privateKey);
      double.ssh.tamper = (d) => (d.publicKey32 = other);
      try {
        assert.equal(
          await reasonOf(backend().resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_error',
        );
      } finally {
        double.ssh.tamper = undefined;
      }
    });

    it('an identity token valid beyond the window: refused by the resolver', async () => {
      const b = backend({ tokens: new Map([[API, { identityRole: 'too-long' }]]) });
      assert.equal(
        await reasonOf(resolver(b).resolve('oauth', API, acFor(API, clock.now()))),
        'exceeds_max_ttl',
      );
    });

    it('a lease valid beyond the window: refused, and the lease revoked at once', async () => {
      const b = backend({
        tokens: new Map([[LEASED, { leasePath: 'consul/creds/too-long', tokenField: 'token' }]]),
      });
      const revoked = double.leases.revoked.length;
      assert.equal(
        await reasonOf(resolver(b).resolve('oauth', LEASED, acFor(LEASED, clock.now()))),
        'exceeds_max_ttl',
      );
      assert.equal(double.leases.revoked.length, revoked + 1);
      assert.equal(double.leases.leases.size, 0);
    });

    it('a lease whose token field is missing: the lease is revoked, nothing is issued', async () => {
      const b = backend({
        tokens: new Map([[LEASED, { leasePath: 'consul/creds/reader', tokenField: 'secret' }]]),
      });
      assert.equal(
        await reasonOf(b.resolve('oauth', LEASED, acFor(LEASED, clock.now()))),
        'backend_error',
      );
      assert.equal(double.leases.leases.size, 0);
    });
  });

  describe('fails closed, with a fixed reason', () => {
    it('issuer down: backend_unavailable', async () => {
      const gone = await startVaultDouble();
      await gone.close();
      const b = backend({ address: gone.address });
      assert.equal(
        await reasonOf(resolver(b).resolve('ssh_cert', HOST, sshAc(clock.now()))),
        'backend_unavailable',
      );
    });

    it('slow: the resolver’s per-backend deadline aborts the call', async () => {
      let held: ServerResponse | undefined;
      let arrived: () => void = () => undefined;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      double.intercept = (req, res) => {
        if (!req.path.includes('/sign/')) return false;
        held = res;
        arrived();
        return true;
      };
      try {
        const b = backend({ timeoutMs: 300 });
        const outcome = reasonOf(resolver(b).resolve('ssh_cert', HOST, sshAc(clock.now())));
        await arrival;
        assert.equal(await outcome, 'timeout');
      } finally {
        double.intercept = undefined;
        held?.destroy();
      }
    });

    it('an aborted call stops waiting for Vault: backend_unavailable', async () => {
      double.intercept = (req) => req.path.includes('/sign/');
      try {
        const controller = new AbortController();
        const b = backend();
        const outcome = reasonOf(
          b.resolve('ssh_cert', HOST, sshAc(clock.now()), controller.signal),
        );
        while (!double.seen.some((s) => s.path.includes('/sign/')))
          await new Promise((r) => setImmediate(r));
        controller.abort();
        assert.equal(await outcome, 'backend_unavailable');
      } finally {
        double.intercept = undefined;
      }
    });

    it('a malformed or oversized reply: backend_error', async () => {
      const replies: [string, string][] = [
        ['application/json', 'not json'],
        ['application/json', '{"data": {"signed_key": "ssh-ed25519-cert-v01@openssh.com AAAA"}}'],
        ['application/json', '{"data": {"signed_key": 42}}'],
        ['application/json', '{"data": null}'],
        ['text/html', '<html>{"data": {}}</html>'],
        ['application/json', JSON.stringify({ data: { signed_key: 'x'.repeat(1024 * 1024) } })],
      ];
      for (const [type, body] of replies) {
        answer(double, /\/sign\//, (res) => res.writeHead(200, { 'content-type': type }).end(body));
        try {
          assert.equal(
            await reasonOf(backend().resolve('ssh_cert', HOST, sshAc(clock.now()))),
            'backend_error',
            body.slice(0, 60),
          );
        } finally {
          double.intercept = undefined;
        }
      }
    });

    it('Vault’s error statuses map to reasons, and its error text never reaches the logs', async () => {
      const marker = newMarker();
      const logs = capturedLogger();
      for (const [status, reason] of [
        [400, 'backend_denied'],
        [403, 'backend_denied'],
        [404, 'backend_misconfigured'],
        [500, 'backend_unavailable'],
        [503, 'backend_unavailable'],
      ] as const) {
        answer(double, /\/sign\//, (res) =>
          res
            .writeHead(status, { 'content-type': 'application/json' })
            .end(JSON.stringify({ errors: [marker] })),
        );
        try {
          assert.equal(
            await reasonOf(
              backend({ logger: logs.logger }).resolve('ssh_cert', HOST, sshAc(clock.now())),
            ),
            reason,
          );
        } finally {
          double.intercept = undefined;
        }
      }
      assert.match(logs.text(), /vault refused the request/);
      expectNoMarker(logs.text(), marker, 'the logs');
    });

    it('403 for a token Vault no longer honours: refused, and the next call logs in again', async () => {
      const b = backend();
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      const logins = double.auth.logins;
      double.auth.tokens.clear(); // revoked at Vault behind the broker's back
      assert.equal(
        await reasonOf(b.resolve('ssh_cert', HOST, sshAc(clock.now()))),
        'backend_denied',
      );
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      assert.equal(double.auth.logins, logins + 1);
    });

    it('a wrong AppRole secret: backend_denied, and no call is made without a token', async () => {
      const b = backend({
        login: {
          method: 'approle',
          mount: 'approle',
          roleId: double.roleId,
          secretId: Secret.fromString('wrong'),
        },
      });
      const seen = double.seen.length;
      assert.equal(
        await reasonOf(b.resolve('ssh_cert', HOST, sshAc(clock.now()))),
        'backend_denied',
      );
      assert.deepEqual(
        double.seen.slice(seen).map((s) => s.path),
        ['auth/approle/login'],
      );
    });
  });

  describe('the broker’s own token', () => {
    it('is renewed once half its TTL has passed, and kept otherwise', async () => {
      const b = backend();
      const logins = double.auth.logins;
      const renewals = double.auth.renewals;
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      clock.advance(20_000);
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      assert.equal(double.auth.renewals, renewals, 'not yet: a third of its 60 s TTL');
      clock.advance(15_000);
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      assert.equal(double.auth.renewals, renewals + 1, 'renewed past half its TTL');
      clock.advance(50_000);
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      assert.equal(double.auth.renewals, renewals + 2, 'its renewed lease counts from the renewal');
      assert.equal(double.auth.logins, logins + 1, 'one login throughout');
    });

    it('renewal failure: logs in again, and the call succeeds', async () => {
      const b = backend();
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      const logins = double.auth.logins;
      clock.advance(40_000);
      answer(double, /renew-self/, (res) =>
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":["boom"]}'),
      );
      try {
        (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      } finally {
        double.intercept = undefined;
      }
      assert.equal(double.auth.logins, logins + 1);
    });

    it('expired: logs in again without trying to renew', async () => {
      const b = backend();
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      const seen = double.seen.length;
      clock.advance(61_000);
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      assert.deepEqual(
        double.seen.slice(seen).map((s) => s.path),
        ['auth/approle/login', 'ssh-client-signer/sign/bastion'],
      );
    });

    it('concurrent invocations share one login', async () => {
      const b = backend();
      const logins = double.auth.logins;
      const all = await Promise.all(
        [1, 2, 3, 4].map(() => b.resolve('ssh_cert', HOST, sshAc(clock.now()))),
      );
      all.forEach((c) => c.privateKey.dispose());
      assert.equal(double.auth.logins, logins + 1);
    });

    it('is revoked at close', async () => {
      const b = backend();
      (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      const tokens = double.auth.tokens.size;
      await b.close();
      assert.equal(double.auth.tokens.size, tokens - 1);
      assert.equal(double.seen.at(-1)?.path, 'auth/token/revoke-self');
      assert.equal(
        await reasonOf(b.resolve('ssh_cert', HOST, sshAc(clock.now()))),
        'backend_unavailable',
      );
    });
  });

  describe('deployment', () => {
    it('namespaces: every call names the configured one', async () => {
      const ns = await startVaultDouble({
        namespace: 'ops/team',
        sshRoles: { bastion: { allowedUsers: ['ops'] } },
      });
      try {
        const login = {
          method: 'approle' as const,
          mount: 'approle',
          roleId: ns.roleId,
          secretId: Secret.fromString(ns.secretId),
        };
        const wrong = backend({ address: ns.address, login });
        assert.equal(
          await reasonOf(wrong.resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_misconfigured',
        );
        const right = backend({
          address: ns.address,
          namespace: 'ops/team',
          login: { ...login, secretId: Secret.fromString(ns.secretId) },
        });
        (await right.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
        assert.ok(ns.seen.slice(1).every((s) => s.namespace === 'ops/team'));
      } finally {
        await ns.close();
      }
    });

    it('TLS with a custom CA: trusted when configured, refused otherwise', async () => {
      const tls = await startVaultDouble({
        tls: true,
        sshRoles: { bastion: { allowedUsers: ['ops'] } },
      });
      try {
        const login = () => ({
          method: 'approle' as const,
          mount: 'approle',
          roleId: tls.roleId,
          secretId: Secret.fromString(tls.secretId),
        });
        const untrusting = backend({ address: tls.address, login: login() });
        assert.equal(
          await reasonOf(untrusting.resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_unavailable',
        );
        const trusting = backend({ address: tls.address, tlsCa: tls.certPem, login: login() });
        (await trusting.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
      } finally {
        await tls.close();
      }
    });

    it('JWT auth from a file, re-read at each login; a token for another audience is refused', async () => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
      const withJwt = await startVaultDouble({
        jwt: { jwks: { keys: [jwk] }, boundAudiences: ['vault'] },
        sshRoles: { bastion: { allowedUsers: ['ops'] } },
      });
      const dir = mkdtempSync(join(tmpdir(), 'bastion-vault-jwt-'));
      const file = join(dir, 'token');
      const sign = (aud: string) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
          .setSubject('broker')
          .setAudience(aud)
          .setExpirationTime('5m')
          .sign(privateKey);
      try {
        const b = (await vaultPlugin.create(
          vaultPlugin.settings({ baseDir: dir }).parse({
            address: withJwt.address,
            auth: { jwt: { role: 'bastion', jwt_file: 'token' } },
            ssh: { mount: 'ssh-client-signer', role: 'bastion' },
          }),
          {
            signer: () => {
              throw new Error('unused');
            },
            issuer: 'x',
            clock,
            logger: silentLogger,
            env: {},
            dataDir: dir,
            where: 'backends[0]',
          },
        )) as VaultBackend;
        backends.push(b);
        writeFileSync(file, (await sign('elsewhere')) + '\n');
        assert.equal(
          await reasonOf(b.resolve('ssh_cert', HOST, sshAc(clock.now()))),
          'backend_denied',
        );
        writeFileSync(file, (await sign('vault')) + '\n');
        (await b.resolve('ssh_cert', HOST, sshAc(clock.now()))).privateKey.dispose();
        assert.equal(withJwt.auth.logins, 1);
      } finally {
        await withJwt.close();
      }
    });

    it('settings: errors name the key; one auth method; http only to loopback', () => {
      const parse = (value: unknown) => vaultPlugin.settings({ baseDir: '/' }).safeParse(value);
      const base = {
        address: 'https://vault.example:8200',
        auth: { approle: { role_id: 'r', secret_id_env: 'S' } },
        ssh: { mount: 'ssh', role: 'b' },
      };
      assert.equal(parse(base).success, true);
      const issues = (value: unknown) =>
        (parse(value).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
      assert.match(
        issues({ ...base, address: 'http://vault.example:8200' }).join(),
        /^address: must be an https URL/,
      );
      assert.match(
        issues({ ...base, auth: { ...base.auth, jwt: { role: 'r', jwt_env: 'J' } } }).join(),
        /auth: must be exactly one of approle and jwt/,
      );
      assert.match(
        issues({ ...base, ssh: { mount: '../sys', role: 'b' } }).join(),
        /ssh.mount: must be a Vault path/,
      );
      assert.match(
        issues({ ...base, ssh: undefined }).join(),
        /must configure ssh, tokens or both/,
      );
      assert.match(
        issues({ ...base, tokens: { 'not a url': { identity_role: 'r' } } }).join(),
        /tokens: keys must be targets/,
      );
      assert.match(
        issues({ ...base, auth: { jwt: { role: 'r' } } }).join(),
        /auth.jwt: must name exactly one of jwt_env and jwt_file/,
      );
    });
  });
});
