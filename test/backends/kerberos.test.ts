/**
 * The kerberos backend against the real MIT KDC (test/helpers/kdc.ts), built as the broker
 * builds it: from YAML, through the plugin. It issues alice a KRB-CRED for WSMAN/win1 by
 * S4U2Self + S4U2Proxy (the KDC's log says so), that the resolver accepts and the audit
 * fingerprints by principal; it refuses, before any KDC traffic, a principal the accord
 * maps to nobody and an SPN outside `delegate_to`; the KDC's own refusals keep their codes;
 * a KDC outage fails within the deadline and heals; the keytab is checked at start.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { stringify } from 'yaml';
import type { BackendDeps } from '../../src/backends/plugin.js';
import { ManualClock, systemClock, type Clock } from '../../src/base/clock.js';
import { BastionError, ConfigError } from '../../src/base/errors.js';
import { freePort } from '../../src/base/free-port.js';
import { silentLogger } from '../../src/base/logger.js';
import { parseConfig } from '../../src/config/config.js';
import type { CredentialBackend } from '../../src/credentials/backend.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { credentialFingerprint } from '../../src/credentials/fingerprint.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AcContext } from '../../src/credentials/types.js';
import { decodeEncKrbCredPart, decodeKrbCred } from '../../src/kerberos/messages/krb-cred.js';
import { parseKdcLog, showsDelegation } from '../helpers/kdc-log.js';
import { DEFAULT_DELEGATE_TO, type Kdc, skipWithoutKdc, startKdc } from '../helpers/kdc.js';

const WIN1 = 'win1.bastion.test';
const WSMAN = `WSMAN/${WIN1}`;
const WINDOW_MS = 5 * 60_000;

const code = (c: string) => (err: unknown) =>
  err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

describe('the kerberos backend against the real MIT KDC', { skip: skipWithoutKdc() }, () => {
  let kdc: Kdc;
  let dir: string;
  let backend: CredentialBackend;
  const built: CredentialBackend[] = [];
  before(async () => {
    kdc = await startKdc();
    dir = mkdtempSync(join(tmpdir(), 'bastion-kerberos-backend-'));
    backend = await build();
  });
  after(async () => {
    for (const b of built) await b.close?.();
    await kdc?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** The backend as the broker builds it: YAML, the plugin's settings, then create. */
  async function build(
    over: Record<string, unknown> = {},
    clock: Clock = systemClock,
  ): Promise<CredentialBackend> {
    const entry = {
      kind: 'kerberos',
      id: 'corp-kdc',
      principal: kdc.broker.principal,
      keytab: kdc.broker.keytab,
      kdcs: [`127.0.0.1:${kdc.kdcAddress.port}`],
      delegate_to: [...DEFAULT_DELEGATE_TO],
      timeout: '10s',
      ...over,
    };
    const yaml = stringify({
      listen: '127.0.0.1:0',
      data_dir: dir,
      backends: [entry],
      accords: [],
    });
    const config = parseConfig(yaml, join(dir, 'bastion.yaml'), {});
    const configured = config.backends[0];
    assert.ok(configured);
    const deps: BackendDeps = {
      signer: () => assert.fail('the kerberos backend signs nothing'),
      issuer: 'urn:bastion:broker',
      clock,
      logger: silentLogger,
      env: {},
      dataDir: dir,
      where: configured.where,
    };
    const created = await configured.plugin.create(configured.settings, deps);
    built.push(created);
    return created;
  }

  const acFor = (user: string | undefined, target = WIN1, clock: Clock = systemClock) =>
    ({
      ac_id: 'ac-krb',
      principal_did: 'did:key:z6MkTestPrincipal',
      capability_mask: 2,
      capabilities: ['exec'],
      accord_template: 'win',
      connector: 'winrm',
      target,
      expires_at: Math.floor(clock.now() / 1000) + 600,
      ...(user !== undefined ? { kerberos_principal: `${user}@${kdc.realm}` } : {}),
    }) satisfies AcContext;

  const resolve = (b: CredentialBackend, ac: AcContext) =>
    b.resolve('kerberos', ac.target, ac, undefined);

  it('issues alice a KRB-CRED to WSMAN/win1 by S4U2Self + S4U2Proxy, that the resolver accepts', async () => {
    const resolver = new CredentialResolver({ logger: silentLogger });
    resolver.register(backend);
    const now = Date.now();
    const credential = await resolver.resolve('kerberos', WIN1, acFor('alice'));
    try {
      assert.equal(credential.issuedBy, 'corp-kdc');
      assert.equal(credential.clientPrincipal, `alice@${kdc.realm}`);
      assert.equal(credential.servicePrincipal, `${WSMAN}@${kdc.realm}`);
      assert.equal(
        credential.scopedTo,
        `Kerberos service ticket for alice@${kdc.realm} to ${WSMAN}@${kdc.realm}`,
      );
      assert.ok(credential.expiresAt.getTime() <= now + WINDOW_MS + 1000, 'at most 5 minutes');
      assert.ok((credential.notBefore?.getTime() ?? Infinity) <= credential.expiresAt.getTime());
      // The ticket is a KRB-CRED for that client and SPN, its session key inside.
      const krbCred = decodeKrbCred(credential.ticket.unsafeReveal());
      assert.deepEqual(krbCred.tickets[0]?.sname.components, ['WSMAN', WIN1]);
      const info = decodeEncKrbCredPart(krbCred.encPart.cipher).ticketInfo[0];
      assert.deepEqual(info?.pname?.components, ['alice']);
      assert.deepEqual(info?.sname?.components, ['WSMAN', WIN1]);
      assert.equal(info?.endtime?.getTime(), credential.expiresAt.getTime());
      info?.key.keyvalue.dispose();
      // The one Secret the credential holds is the KRB-CRED: no second copy of the key.
      const secrets = Object.values(credential).filter((v) => v instanceof Secret);
      assert.deepEqual(secrets, [credential.ticket]);
      assert.ok(
        showsDelegation(kdc.log(), { user: 'alice', spn: WSMAN, service: kdc.broker.principal }),
      );
      // The audit's record: whose ticket to what, and a digest, never the ticket.
      const fingerprint = credentialFingerprint(credential);
      assert.equal(fingerprint.principal, `alice@${kdc.realm}`);
      assert.equal(fingerprint.service, `${WSMAN}@${kdc.realm}`);
      assert.match(fingerprint.fingerprint, /^sha256:[A-Za-z0-9_-]{43}$/);
    } finally {
      await resolver.discard(credential);
    }
    assert.ok(credential.ticket.disposed, 'discard zero-fills the KRB-CRED');
  });

  it('leaves no key behind but the KRB-CRED: every other Secret made while issuing is zero-filled', async () => {
    const made = [mock.method(Secret, 'copyOf'), mock.method(Secret, 'adopt')];
    let credential;
    try {
      credential = await resolve(backend, acFor('alice'));
    } finally {
      for (const spy of made) spy.mock.restore();
    }
    const secrets = made.flatMap((spy) => spy.mock.calls.map((call) => call.result));
    // The TGT's and evidence ticket's session keys, keytab copies, and the service ticket's
    // session key all came through here; only the credential's own KRB-CRED is live.
    assert.ok(secrets.length >= 4, `${secrets.length} Secrets seen`);
    const live = secrets.filter((s) => s !== undefined && !s.disposed);
    assert.deepEqual(live, [credential.ticket]);
    credential.ticket.dispose();
  });

  it('refuses an SPN outside delegate_to before any KDC traffic: kerberos_spn_not_delegated', async () => {
    const mark = kdc.log().length;
    await assert.rejects(
      resolve(backend, acFor('alice', 'other.bastion.test')),
      code('kerberos_spn_not_delegated'),
    );
    // An spns entry naming an SPN outside the list is refused the same way.
    const mapped = await build({ spns: { [WIN1]: 'host/other.bastion.test' } });
    await assert.rejects(resolve(mapped, acFor('alice')), code('kerberos_spn_not_delegated'));
    // A KDC that is not listening: still the broker's own refusal, never kerberos_kdc_unreachable.
    const nowhere = await build({ kdcs: [`127.0.0.1:${await freePort()}`] });
    await assert.rejects(
      resolve(nowhere, acFor('alice', 'other.bastion.test')),
      code('kerberos_spn_not_delegated'),
    );
    // Control: the same dead KDC for a listed SPN is met, and unreachable.
    await assert.rejects(resolve(nowhere, acFor('alice')), code('kerberos_kdc_unreachable'));
    assert.deepEqual(parseKdcLog(kdc.log().slice(mark)), [], 'the KDC saw no request');
  });

  it('refuses a principal the accord maps to no Kerberos user: kerberos_principal_unmapped', async () => {
    const nowhere = await build({ kdcs: [`127.0.0.1:${await freePort()}`] });
    await assert.rejects(resolve(nowhere, acFor(undefined)), code('kerberos_principal_unmapped'));
    await assert.rejects(resolve(backend, acFor(undefined)), code('kerberos_principal_unmapped'));
  });

  it('issues only for its targets: another is an invalid request, with no KDC traffic', async () => {
    const nowhere = await build({
      kdcs: [`127.0.0.1:${await freePort()}`],
      targets: ['*.elsewhere.test'],
    });
    await assert.rejects(
      resolve(nowhere, acFor('alice')),
      (err: unknown) =>
        err instanceof CredentialResolutionError && err.reason === 'invalid_credential_request',
    );
  });

  it("passes the KDC's refusals through with their codes", async () => {
    await assert.rejects(resolve(backend, acFor('sensitive')), code('kerberos_not_delegatable'));
    await assert.rejects(resolve(backend, acFor('nobody')), code('kerberos_principal_unknown'));
  });

  it('a clock 10 minutes off, either way: kerberos_clock_skew', async () => {
    for (const off of [10 * 60_000, -10 * 60_000]) {
      const clock = new ManualClock(Date.now() + off);
      const skewed = await build({}, clock);
      await assert.rejects(
        resolve(skewed, acFor('alice', WIN1, clock)),
        code('kerberos_clock_skew'),
        String(off),
      );
    }
  });

  it('a KDC clock ahead of ours within clock_skew: the resolver takes the ticket as usable now', async () => {
    // The broker's clock 2 minutes behind the KDC's: past the resolver's 30 s, within 5 min.
    const clock = new ManualClock(Date.now() - 2 * 60_000);
    const behind = await build({}, clock);
    const resolver = new CredentialResolver({ logger: silentLogger, clock });
    resolver.register(behind);
    const credential = await resolver.resolve('kerberos', WIN1, acFor('alice', WIN1, clock));
    try {
      assert.ok((credential.notBefore?.getTime() ?? Infinity) <= clock.now());
    } finally {
      await resolver.discard(credential);
    }
  });

  it('the KDC down: kerberos_kdc_unreachable within the deadline; up again, tickets again', async () => {
    await kdc.stopKdc();
    try {
      await assert.rejects(resolve(backend, acFor('alice')), (err: unknown) =>
        err instanceof BastionError &&
        ['kerberos_kdc_unreachable', 'kerberos_kdc_timeout'].includes(err.code)
          ? true
          : assert.fail(`got ${String(err)}`),
      );
    } finally {
      await kdc.restart();
    }
    const credential = await resolve(backend, acFor('alice'));
    credential.ticket.dispose();
  });

  it('checks the keytab at start: mode 0600, and a key for principal', async () => {
    const open = join(dir, 'open.keytab');
    copyFileSync(kdc.broker.keytab, open);
    chmodSync(open, 0o644);
    const configError = (why: string) => (err: unknown) =>
      err instanceof ConfigError &&
      err.message === `Invalid configuration at backends[0].keytab: ${why}`;
    await assert.rejects(
      build({ keytab: open }),
      configError('must be a regular file readable by its owner only (chmod 600)'),
    );
    // win1's keytab: a real keytab, of another principal.
    await assert.rejects(
      build({ keytab: kdc.hostKeytabs[WIN1] }),
      configError('holds no AES key for principal'),
    );
    await assert.rejects(
      build({ keytab: join(dir, 'missing.keytab') }),
      configError('cannot be read'),
    );
    // Control: the same file at 0600 is taken.
    chmodSync(open, 0o600);
    await build({ keytab: open });
  });
});
