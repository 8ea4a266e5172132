/**
 * The Kerberos client's own checks, against a KDC played by the test (test/helpers/
 * fake-kdc.ts) where the real one will not misbehave: the transport's deadline, abort,
 * failover and framing bounds; replies with a wrong nonce, client or server, a lifetime
 * beyond the window or already over, a tampered ciphertext, the wrong message; KRB-ERRORs
 * mapped by code with the KDC's e-text never echoed. Each first passes a control: the same
 * fake KDC answering properly is accepted.
 */
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/base/clock.js';
import { BastionError } from '../../src/base/errors.js';
import { requestTgt } from '../../src/kerberos/client/as.js';
import { acquireServiceTicket } from '../../src/kerberos/client/acquire.js';
import type { KdcClientOptions } from '../../src/kerberos/client/session.js';
import { exchangeWithKdc, MAX_REPLY_BYTES } from '../../src/kerberos/client/transport.js';
import { MSG_TYPE } from '../../src/kerberos/messages/constants.js';
import { encodeKrbError, KRB_ERROR_CODE } from '../../src/kerberos/messages/krb-error.js';
import { freePort } from '../../src/base/free-port.js';
import {
  FAKE_BROKER,
  FAKE_REALM,
  fakeBroker,
  startFakeKdc,
  type FakeAnswer,
} from '../helpers/fake-kdc.js';
import { encodeKdcReq, type KdcReq } from '../../src/kerberos/messages/kdc-req.js';

const WINDOW_MS = 5 * 60_000;
const opts = (port: number, over: Partial<KdcClientOptions> = {}): KdcClientOptions => ({
  kdcs: [{ host: '127.0.0.1', port }],
  timeoutMs: 10_000,
  clock: systemClock,
  clockSkewMs: 60_000,
  windowMs: WINDOW_MS,
  ...over,
});
const code = (c: string) => (err: unknown) =>
  err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
});

async function fake(answer?: (req: KdcReq, n: number) => FakeAnswer) {
  const kdc = await startFakeKdc(answer);
  closers.push(() => kdc.close());
  return kdc;
}

/** A TGT from a fake KDC answering its one AS-REQ with `answer`. */
async function tgtWith(answer: FakeAnswer, over: Partial<KdcClientOptions> = {}) {
  const kdc = await fake(() => answer);
  const tgt = await requestTgt(kdc.keytab, fakeBroker(), opts(kdc.address.port, over));
  tgt.dispose();
  return kdc;
}

const krbError = (errorCode: number, eText?: string): Buffer =>
  encodeKrbError({
    stime: new Date(Math.floor(Date.now() / 1000) * 1000),
    susec: 0,
    errorCode,
    realm: FAKE_REALM,
    sname: { nameType: 2, components: ['krbtgt', FAKE_REALM] },
    eText,
  });

describe('AS replies are checked', () => {
  it('control: a proper AS-REP gives a TGT', async () => {
    const kdc = await tgtWith({});
    assert.equal(kdc.requests.length, 1);
    assert.ok((kdc.requests[0]?.reqBody.nonce ?? -1) < 2 ** 31);
    const till = kdc.requests[0]?.reqBody.till.getTime() ?? Infinity;
    assert.ok(till <= Date.now() + WINDOW_MS, 'till is within the window');
  });

  it('a wrong nonce: kerberos_reply_mismatch', async () => {
    const answer = (req: KdcReq): FakeAnswer => ({
      part: { nonce: (req.reqBody.nonce + 1) % 2 ** 31 },
    });
    const kdc = await fake(answer);
    await assert.rejects(
      requestTgt(kdc.keytab, fakeBroker(), opts(kdc.address.port)),
      code('kerberos_reply_mismatch'),
    );
  });

  it('an endtime beyond the window: kerberos_ticket_lifetime', async () => {
    const endtime = new Date(Math.floor(Date.now() / 1000) * 1000 + 10 * 3600_000);
    await assert.rejects(tgtWith({ part: { endtime } }), code('kerberos_ticket_lifetime'));
  });

  it('an endtime already past: kerberos_ticket_lifetime', async () => {
    const endtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000);
    await assert.rejects(tgtWith({ part: { endtime } }), code('kerberos_ticket_lifetime'));
  });

  it('a starttime in the future beyond the skew: kerberos_ticket_lifetime', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const part = { starttime: new Date(now + 3 * 60_000), endtime: new Date(now + 4 * 60_000) };
    await assert.rejects(tgtWith({ part }), code('kerberos_ticket_lifetime'));
  });

  it('another server than krbtgt/REALM: kerberos_reply_mismatch', async () => {
    const sname = { nameType: 2, components: ['krbtgt', 'EVIL.TEST'] };
    await assert.rejects(tgtWith({ part: { sname } }), code('kerberos_reply_mismatch'));
  });

  it('a ticket for another server than krbtgt/REALM: kerberos_reply_mismatch', async () => {
    const ticket = {
      realm: FAKE_REALM,
      sname: { nameType: 2, components: ['krbtgt', 'EVIL.TEST'] },
      encPart: { etype: 18, cipher: Buffer.alloc(64, 7) },
    };
    await assert.rejects(tgtWith({ rep: { ticket } }), code('kerberos_reply_mismatch'));
  });

  it('another client: kerberos_reply_mismatch', async () => {
    const cname = { nameType: 1, components: ['mallory'] };
    await assert.rejects(tgtWith({ rep: { cname } }), code('kerberos_reply_mismatch'));
  });

  it('a tampered enc-part: kerberos_integrity_failed', async () => {
    const kdc = await fake();
    const good = await requestTgt(kdc.keytab, fakeBroker(), opts(kdc.address.port));
    good.dispose();
    const bad = await fake(() => ({
      rep: { encPart: { etype: 18, cipher: Buffer.alloc(80, 1) } },
    }));
    await assert.rejects(
      requestTgt(bad.keytab, fakeBroker(), opts(bad.address.port)),
      code('kerberos_integrity_failed'),
    );
  });

  it('a KRB-ERROR is mapped by code, its e-text never echoed', async () => {
    const marker = 'E-TEXT-MARKER-7f3a';
    const cases: [number, string][] = [
      [KRB_ERROR_CODE.KRB_AP_ERR_SKEW, 'kerberos_clock_skew'],
      [KRB_ERROR_CODE.KDC_ERR_C_PRINCIPAL_UNKNOWN, 'kerberos_service_unknown'],
      [KRB_ERROR_CODE.KDC_ERR_PREAUTH_FAILED, 'kerberos_preauth_failed'],
      [KRB_ERROR_CODE.KDC_ERR_POLICY, 'kerberos_kdc_error'],
    ];
    for (const [errorCode, want] of cases) {
      const kdc = await fake(() => ({ framed: krbError(errorCode, marker) }));
      const err = await requestTgt(kdc.keytab, fakeBroker(), opts(kdc.address.port)).then(
        () => assert.fail('accepted'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BastionError && err.code === want, `${errorCode} → ${String(err)}`);
      assert.ok(!JSON.stringify(err).includes(marker) && !err.message.includes(marker));
      assert.ok(!String(err.stack).includes(marker));
    }
  });

  it('a TGS-REP where an AS-REP belongs, or garbage: kerberos_kdc_reply_malformed', async () => {
    const tgsRep = { rep: { msgType: MSG_TYPE.tgs_rep } } as const;
    await assert.rejects(tgtWith(tgsRep), code('kerberos_kdc_reply_malformed'));
    await assert.rejects(
      tgtWith({ framed: Buffer.from('not kerberos') }),
      code('kerberos_kdc_reply_malformed'),
    );
  });
});

describe('S4U replies are checked', () => {
  const acquire = (port: number) =>
    acquireServiceTicket(
      {
        keytab: kdcKeytab,
        broker: FAKE_BROKER,
        user: `alice@${FAKE_REALM}`,
        spn: 'WSMAN/win1.fake.test',
      },
      opts(port),
    );
  let kdcKeytab: Awaited<ReturnType<typeof fake>>['keytab'];
  const run = async (answer: (req: KdcReq, n: number) => FakeAnswer) => {
    const kdc = await fake(answer);
    kdcKeytab = kdc.keytab;
    return acquire(kdc.address.port);
  };

  it('control: AS, S4U2Self, S4U2Proxy give a credential', async () => {
    const cred = await run(() => ({}));
    assert.equal(cred.client, `alice@${FAKE_REALM}`);
    cred.dispose();
  });

  it('an S4U2Proxy ticket ending beyond the window: kerberos_ticket_lifetime', async () => {
    const endtime = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
    await assert.rejects(
      run((_, n) => (n === 2 ? { part: { endtime } } : {})),
      code('kerberos_ticket_lifetime'),
    );
  });

  it('an S4U2Proxy reply for another user: kerberos_reply_mismatch', async () => {
    const cname = { nameType: 1, components: ['bob'] };
    await assert.rejects(
      run((_, n) => (n === 2 ? { rep: { cname } } : {})),
      code('kerberos_reply_mismatch'),
    );
  });

  it('an S4U2Proxy reply for another service: kerberos_reply_mismatch', async () => {
    const sname = { nameType: 2, components: ['WSMAN', 'other.fake.test'] };
    await assert.rejects(
      run((_, n) => (n === 2 ? { part: { sname } } : {})),
      code('kerberos_reply_mismatch'),
    );
  });

  it('an S4U2Self ticket that is not forwardable: kerberos_not_delegatable', async () => {
    await assert.rejects(
      run((_, n) => (n === 1 ? { part: { flags: 0 } } : {})),
      code('kerberos_not_delegatable'),
    );
  });

  it('KDC_ERR_BADOPTION at S4U2Proxy: kerberos_delegation_refused; at S4U2Self: kerberos_kdc_error', async () => {
    const bad = { framed: krbError(KRB_ERROR_CODE.KDC_ERR_BADOPTION) };
    await assert.rejects(
      run((_, n) => (n === 2 ? bad : {})),
      code('kerberos_delegation_refused'),
    );
    await assert.rejects(
      run((_, n) => (n === 1 ? bad : {})),
      code('kerberos_kdc_error'),
    );
  });
});

describe('the KDC transport', () => {
  // The test's own timeout is a guard (without the deadline the call would wait for ever),
  // not a timing assertion.
  it('a silent KDC meets the deadline: kerberos_kdc_timeout', { timeout: 60_000 }, async () => {
    const kdc = await fake(() => 'silent');
    await assert.rejects(
      exchangeWithKdc(asReq(), { kdcs: [kdc.address], timeoutMs: 200 }),
      code('kerberos_kdc_timeout'),
    );
  });

  it('the caller aborts: kerberos_kdc_aborted, at once', async () => {
    const kdc = await fake(() => 'silent');
    const controller = new AbortController();
    const pending = exchangeWithKdc(asReq(), {
      kdcs: [kdc.address],
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    // Abort once the request has arrived, so the abort meets a connection in progress.
    await waitFor(() => kdc.requests.length === 1);
    controller.abort();
    await assert.rejects(pending, code('kerberos_kdc_aborted'));
  });

  it('fails over to the next KDC when one cannot be connected to; none: kerberos_kdc_unreachable', async () => {
    const closed = await freePort();
    const kdc = await fake(() => ({ framed: Buffer.from('ok') }));
    const reply = await exchangeWithKdc(asReq(), {
      kdcs: [{ host: '127.0.0.1', port: closed }, kdc.address],
      timeoutMs: 10_000,
    });
    assert.equal(reply.toString(), 'ok');
    await assert.rejects(
      exchangeWithKdc(asReq(), {
        kdcs: [{ host: '127.0.0.1', port: closed }],
        timeoutMs: 10_000,
      }),
      code('kerberos_kdc_unreachable'),
    );
  });

  it('bounds the reply: a length over MAX_REPLY_BYTES is refused before it is read', async () => {
    const len = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const ok = await fake(() => ({
      raw: Buffer.concat([len(MAX_REPLY_BYTES), Buffer.alloc(MAX_REPLY_BYTES)]),
    }));
    assert.equal(
      (await exchangeWithKdc(asReq(), { kdcs: [ok.address], timeoutMs: 10_000 })).byteLength,
      MAX_REPLY_BYTES,
    );
    const big = await fake(() => ({ raw: len(MAX_REPLY_BYTES + 1) }));
    await assert.rejects(
      exchangeWithKdc(asReq(), { kdcs: [big.address], timeoutMs: 10_000 }),
      code('kerberos_message_too_large'),
    );
  });

  it('refuses a truncated reply, trailing bytes, the reserved length bit: kerberos_kdc_reply_malformed', async () => {
    const raws = [
      Buffer.from([0, 0, 0, 10, 1, 2, 3]),
      Buffer.from([0, 0, 0, 2, 1, 2, 3]),
      Buffer.from([0x80, 0, 0, 2, 1, 2]),
    ];
    for (const raw of raws) {
      const kdc = await fake(() => ({ raw }));
      await assert.rejects(
        exchangeWithKdc(asReq(), { kdcs: [kdc.address], timeoutMs: 10_000 }),
        code('kerberos_kdc_reply_malformed'),
      );
    }
    // Trailing bytes on a connection the KDC keeps open: refused as they arrive.
    const open = await fake(() => ({ rawOpen: Buffer.from([0, 0, 0, 2, 1, 2, 3]) }));
    await assert.rejects(
      exchangeWithKdc(asReq(), { kdcs: [open.address], timeoutMs: 60_000 }),
      code('kerberos_kdc_reply_malformed'),
    );
  });
});

/** An AS-REQ the fake KDC can decode (the transport itself sends any bytes). */
function asReq(): Buffer {
  return encodeKdcReq({
    msgType: MSG_TYPE.as_req,
    reqBody: {
      kdcOptions: 0,
      cname: { nameType: 1, components: ['x'] },
      realm: FAKE_REALM,
      sname: { nameType: 2, components: ['krbtgt', FAKE_REALM] },
      till: new Date(0),
      nonce: 1,
      etype: [18],
    },
  });
}

/** Yields to the event loop until `ready` holds (an event-driven wait, no timer). */
async function waitFor(ready: () => boolean): Promise<void> {
  while (!ready()) await nextTurn();
}
