/**
 * The in-process Kerberos client against the real MIT KDC (test/helpers/kdc.ts): the
 * broker, with its keytab, gets a ticket for alice to WSMAN/win1 through AS, S4U2Self and
 * S4U2Proxy; the ticket is proved by decrypting it with win1's own key (usage 2) and by the
 * KDC's log; and every refusal the KDC can give has its stable code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock, systemClock, type Clock } from '../../src/base/clock.js';
import { BastionError } from '../../src/base/errors.js';
import { decrypt } from '../../src/kerberos/crypto/cipher.js';
import { Secret } from '../../src/credentials/secret.js';
import { requestTgt } from '../../src/kerberos/client/as.js';
import { stringToKey } from '../../src/kerberos/crypto/string-to-key.js';
import { Keytab, readKeytab } from '../../src/kerberos/keytab.js';
import { hasFlags, KEY_USAGE, TICKET_FLAG } from '../../src/kerberos/messages/constants.js';
import { decodeKrbCred, decodeEncKrbCredPart } from '../../src/kerberos/messages/krb-cred.js';
import { decodeEncTicketPart } from '../../src/kerberos/messages/ticket.js';
import { defaultSalt, parsePrincipal } from '../../src/kerberos/principal.js';
import { acquireServiceTicket } from '../../src/kerberos/client/acquire.js';
import type { KdcClientOptions } from '../../src/kerberos/client/session.js';
import { parseKdcLog, showsDelegation } from '../helpers/kdc-log.js';
import { OUTSIDE_SPN, type Kdc, skipWithoutKdc, startKdc } from '../helpers/kdc.js';

const WSMAN = 'WSMAN/win1.bastion.test';
const WINDOW_MS = 5 * 60_000;

describe('the Kerberos client against the real MIT KDC', { skip: skipWithoutKdc() }, () => {
  let kdc: Kdc;
  let broker: Keytab;
  let kerberosOnly: Keytab;
  before(async () => {
    kdc = await startKdc();
    broker = readKeytab(kdc.broker.keytab);
    kerberosOnly = readKeytab(kdc.brokerKerberosOnly.keytab);
  });
  after(async () => {
    broker?.dispose();
    kerberosOnly?.dispose();
    await kdc?.stop();
  });

  const options = (over: Partial<KdcClientOptions> = {}): KdcClientOptions => ({
    kdcs: [kdc.kdcAddress],
    timeoutMs: 10_000,
    clock: systemClock,
    clockSkewMs: 60_000,
    windowMs: WINDOW_MS,
    ...over,
  });
  const acquire = (user: string, spn = WSMAN, over: Partial<KdcClientOptions> = {}) =>
    acquireServiceTicket(
      { keytab: broker, broker: kdc.broker.principal, user: `${user}@${kdc.realm}`, spn },
      options(over),
    );
  const code = (c: string) => (err: unknown) =>
    err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

  it('gets alice a ticket to WSMAN/win1 that win1 decrypts, and the KDC logs S4U2Self then S4U2Proxy', async () => {
    const clock: Clock = systemClock;
    const cred = await acquire('alice');
    try {
      assert.equal(cred.client, `alice@${kdc.realm}`);
      assert.equal(cred.spn, `${WSMAN}@${kdc.realm}`);
      assert.ok(cred.endTime.getTime() <= clock.now() + WINDOW_MS);
      const krbCred = decodeKrbCred(cred.krbCred.unsafeReveal());
      assert.equal(krbCred.encPart.etype, 0);
      const [ticket] = krbCred.tickets;
      assert.ok(ticket);
      assert.deepEqual(ticket.sname.components, ['WSMAN', 'win1.bastion.test']);
      // win1 decrypts the ticket with its own key: the ticket is for it, and for alice.
      using win1 = readKeytab(kdc.hostKeytabs['win1.bastion.test'] ?? '');
      const key = win1.selectKey(
        parsePrincipal(`${WSMAN}@${kdc.realm}`),
        ticket.encPart.etype,
        ticket.encPart.kvno,
      );
      const plain = decrypt(key, KEY_USAGE.kdc_rep_ticket, ticket.encPart.cipher);
      const part = plain.use((b) => decodeEncTicketPart(b));
      assert.deepEqual(part.cname.components, ['alice']);
      assert.equal(part.crealm, kdc.realm);
      assert.ok(hasFlags(part.flags, TICKET_FLAG.forwardable));
      assert.ok(part.endtime.getTime() - part.authtime.getTime() <= WINDOW_MS);
      // The session key in the ticket is the one the credential carries.
      assert.ok(part.key.keyvalue.equals(cred.sessionKey));
      assert.equal(part.key.keytype, cred.enctype);
      const info = decodeEncKrbCredPart(krbCred.encPart.cipher).ticketInfo[0];
      assert.ok(info?.key.keyvalue.equals(cred.sessionKey));
      assert.deepEqual(info?.pname?.components, ['alice']);
      for (const s of [plain, key.key, part.key.keyvalue, info?.key.keyvalue]) s?.dispose();
      assert.ok(
        showsDelegation(kdc.log(), {
          user: 'alice',
          spn: WSMAN,
          service: kdc.broker.principal,
        }),
      );
    } finally {
      cred.dispose();
    }
    assert.ok(cred.krbCred.disposed && cred.sessionKey.disposed);
  });

  /** A keytab of alice's aes256-cts-hmac-sha1-96 key from `password` (the default salt). */
  const passwordKeytab = (password: string): Keytab => {
    const alice = parsePrincipal(kdc.users.alice.principal);
    const pw = Secret.fromString(password);
    const key = stringToKey(18, pw, defaultSalt(alice));
    pw.dispose();
    return new Keytab([{ principal: alice, timestamp: 0, kvno: 1, enctype: 18, key: key.key }], 0);
  };

  it('pre-authenticates with PA-ENC-TIMESTAMP when the KDC requires it (alice: +requires_preauth)', async () => {
    const mark = kdc.log().length;
    using keytab = passwordKeytab(kdc.users.alice.password);
    const tgt = await requestTgt(keytab, parsePrincipal(kdc.users.alice.principal), options());
    tgt.dispose();
    const seen = parseKdcLog(kdc.log().slice(mark)).map((r) => r.status);
    assert.deepEqual(seen, ['NEEDED_PREAUTH', 'ISSUE']);
  });

  it('a key the KDC does not hold: kerberos_preauth_failed', async () => {
    using keytab = passwordKeytab('not-alice-password');
    await assert.rejects(
      requestTgt(keytab, parsePrincipal(kdc.users.alice.principal), options()),
      code('kerberos_preauth_failed'),
    );
  });

  it('refuses an SPN outside the delegation list: kerberos_delegation_refused', async () => {
    const mark = kdc.log().length;
    await assert.rejects(acquire('alice', OUTSIDE_SPN), code('kerberos_delegation_refused'));
    const proxy = parseKdcLog(kdc.log().slice(mark)).find((r) => r.server.startsWith(OUTSIDE_SPN));
    assert.ok(proxy && proxy.status !== 'ISSUE', 'the KDC refused the S4U2Proxy');
  });

  it('refuses sensitive (not forwardable at S4U2Self): kerberos_not_delegatable', async () => {
    await assert.rejects(acquire('sensitive'), code('kerberos_not_delegatable'));
  });

  it('refuses an unknown user: kerberos_principal_unknown', async () => {
    await assert.rejects(acquire('nobody'), code('kerberos_principal_unknown'));
  });

  it('refuses a broker without ok_to_auth_as_delegate: kerberos_not_delegatable', async () => {
    await assert.rejects(
      acquireServiceTicket(
        {
          keytab: kerberosOnly,
          broker: kdc.brokerKerberosOnly.principal,
          user: kdc.users.alice.principal,
          spn: WSMAN,
        },
        options(),
      ),
      code('kerberos_not_delegatable'),
    );
  });

  it('refuses a clock 200 s off when the KDC allows 60 s: kerberos_clock_skew', async () => {
    await kdc.restart({ clockSkewSeconds: 60 });
    try {
      const clock = new ManualClock(Date.now() + 200_000);
      await assert.rejects(acquire('alice', WSMAN, { clock }), code('kerberos_clock_skew'));
    } finally {
      await kdc.restart({ clockSkewSeconds: 300 });
    }
  });

  it('fails fast when the KDC is down: kerberos_kdc_unreachable', async () => {
    await kdc.stopKdc();
    try {
      await assert.rejects(acquire('alice'), code('kerberos_kdc_unreachable'));
    } finally {
      await kdc.restart();
    }
  });
});
