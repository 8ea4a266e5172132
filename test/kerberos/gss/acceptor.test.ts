/**
 * The initiator against a REAL acceptor: MIT krb5 through Debian's python3-gssapi (the WinRM
 * double's own acceptor code, test/peers/gss-acceptor/), with win1's keytab from the real
 * test KDC. Alice's service ticket comes from MIT's kinit + kvno into a test-only ccache
 * (test/helpers/ccache.ts), standing in for the in-process S4U client. The acceptor accepts
 * our AP-REQ (raw Kerberos and SPNEGO), names alice as the initiator, and its AP-REP passes
 * our mutual-authentication check; wrap tokens cross both ways. Forged AP-REPs (another
 * key, a ctime that is not ours, a KRB-ERROR, none at all) and tampered, replayed or
 * reordered wrap tokens are refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encrypt } from '../../../src/kerberos/crypto/cipher.js';
import { generateKey } from '../../../src/kerberos/crypto/string-to-key.js';
import { TOK_ID, frameKrb5 } from '../../../src/kerberos/gss/framing.js';
import { initiateContext, type GssScheme } from '../../../src/kerberos/gss/initiator.js';
import type { GssSession } from '../../../src/kerberos/gss/session.js';
import { encodeApRep, encodeEncApRepPart } from '../../../src/kerberos/messages/ap.js';
import { KEY_USAGE } from '../../../src/kerberos/messages/constants.js';
import type { KerberosKey } from '../../../src/kerberos/crypto/enctypes.js';
import type { CachedCredential } from '../../helpers/ccache.js';
import {
  b64,
  serviceTicket,
  startGssAcceptor,
  unb64,
  type GssAcceptor,
} from '../../helpers/gss-acceptor.js';
import { type Kdc, startKdc } from '../../helpers/kdc.js';
import { skipWithoutWinrmDouble } from '../../helpers/winrm-double.js';

const SPN = 'HTTP/win1.bastion.test';

const assertCode = async (p: Promise<unknown> | (() => unknown), code: string): Promise<void> => {
  const match = (e: { code?: string }): boolean => e.code === code;
  if (typeof p === 'function') assert.throws(p, match);
  else await assert.rejects(p, match);
};

describe(
  'GSS-API initiator against a real MIT acceptor',
  { skip: skipWithoutWinrmDouble() },
  () => {
    let kdc: Kdc;
    let cred: CachedCredential;
    const acceptors: GssAcceptor[] = [];

    before(async () => {
      kdc = await startKdc();
      cred = await serviceTicket(kdc, kdc.users.alice, SPN);
    });
    after(async () => {
      for (const a of acceptors) a.stop();
      cred.sessionKey.key.dispose();
      await kdc.stop();
    });

    function input(c = cred): Parameters<typeof initiateContext>[0] {
      return { ticket: c.ticket, sessionKey: c.sessionKey, client: c.client };
    }

    /** A fresh acceptor and an established context with it under `scheme`. */
    async function establish(
      scheme: GssScheme,
      c = cred,
    ): Promise<{ a: GssAcceptor; s: GssSession }> {
      const a = startGssAcceptor(kdc);
      acceptors.push(a);
      const pending = initiateContext(input(c), scheme);
      const r = await a.call({ op: 'accept', scheme, token: b64(pending.token) });
      assert.equal(r['initiator'], kdc.users.alice.principal);
      return { a, s: pending.finish(unb64(r['reply'])) };
    }

    // The default session key is aes256-cts-hmac-sha1-96 (18); MIT's wrap_iov sets RRC by
    // the enctype's HMAC length, so each of the others is checked against it too.
    for (const [name, enctype] of [
      ['aes256-cts-hmac-sha384-192', 20],
      ['aes128-cts-hmac-sha256-128', 19],
      ['aes128-cts-hmac-sha1-96', 17],
    ] as const) {
      it(`session key ${name}: accepted, wrap tokens cross both ways`, async () => {
        const c = await serviceTicket(kdc, kdc.users.alice, SPN, name);
        assert.equal(c.sessionKey.enctype, enctype);
        const { a, s } = await establish('Kerberos', c);
        const mine = s.wrap(Buffer.from('to the acceptor'));
        const there = await a.call({
          op: 'unwrap',
          header: b64(mine.header),
          data: b64(mine.data),
        });
        assert.equal(unb64(there['data']).toString(), 'to the acceptor');
        const theirs = await a.call({ op: 'wrap', data: b64(Buffer.from('to the initiator')) });
        const back = s.unwrap(unb64(theirs['header']), unb64(theirs['data']));
        assert.equal(back.toString(), 'to the initiator');
        s.dispose();
        c.sessionKey.key.dispose();
      });
    }

    for (const scheme of ['Kerberos', 'Negotiate'] as const) {
      it(`${scheme}: accepted as alice, AP-REP verified, wrap tokens cross both ways`, async () => {
        const { a, s } = await establish(scheme);
        assert.equal(s.acceptorSubkey, true, 'MIT answers with an acceptor subkey');
        for (const text of ['<s:Envelope/>', 'é'.repeat(3000)]) {
          const mine = s.wrap(Buffer.from(text));
          const there = await a.call({
            op: 'unwrap',
            header: b64(mine.header),
            data: b64(mine.data),
          });
          assert.equal(unb64(there['data']).toString(), text);
          const theirs = await a.call({ op: 'wrap', data: b64(Buffer.from(`re: ${text}`)) });
          assert.equal(
            s.unwrap(unb64(theirs['header']), unb64(theirs['data'])).toString(),
            `re: ${text}`,
          );
        }
        s.dispose();
      });
    }

    it('the acceptor refuses our token with a flipped bit; we refuse its replayed, reordered, tampered ones', async () => {
      const { a, s } = await establish('Kerberos');
      const mine = s.wrap(Buffer.from('x'));
      const data = Buffer.from(mine.data);
      data.writeUInt8(data.readUInt8(0) ^ 1, 0);
      assert.equal(
        (await a.call({ op: 'unwrap', header: b64(mine.header), data: b64(data) }))['error'],
        'integrity',
      );

      const one = await a.call({ op: 'wrap', data: b64(Buffer.from('one')) });
      const two = await a.call({ op: 'wrap', data: b64(Buffer.from('two')) });
      const three = await a.call({ op: 'wrap', data: b64(Buffer.from('three')) });
      await assertCode(
        () => s.unwrap(unb64(two['header']), unb64(two['data'])),
        'kerberos_wrap_sequence',
      );
      assert.equal(s.unwrap(unb64(one['header']), unb64(one['data'])).toString(), 'one');
      await assertCode(
        () => s.unwrap(unb64(one['header']), unb64(one['data'])),
        'kerberos_wrap_sequence',
      );
      const tampered = unb64(two['header']);
      tampered.writeUInt8(tampered.readUInt8(40) ^ 1, 40);
      await assertCode(() => s.unwrap(tampered, unb64(two['data'])), 'kerberos_integrity_failed');
      assert.equal(s.unwrap(unb64(two['header']), unb64(two['data'])).toString(), 'two');
      assert.equal(s.unwrap(unb64(three['header']), unb64(three['data'])).toString(), 'three');
      s.dispose();
    });

    /** A forged AP-REP token: an EncAPRepPart under `key`, echoing `ctime` and `cusec`. */
    function forgedApRep(key: KerberosKey, ctime: Date, cusec: number): Buffer {
      const part = encodeEncApRepPart({ ctime, cusec, seqNumber: 5 });
      const cipher = encrypt(key, KEY_USAGE.ap_rep_enc_part, part);
      return frameKrb5(TOK_ID.ap_rep, encodeApRep({ encPart: { etype: key.enctype, cipher } }));
    }

    it('refuses an AP-REP under another key, one whose ctime is not ours, a KRB-ERROR and none', async () => {
      const now = new Date(Date.UTC(2026, 10, 30, 20, 0, 0, 123));
      const ctime = new Date(Date.UTC(2026, 10, 30, 20, 0, 0));
      // The forgery's cusec cannot be known (it is partly random): try the range's two ends.
      const echo = (cusec: number): Buffer => forgedApRep(cred.sessionKey, ctime, cusec);
      const fresh = () => initiateContext({ ...input(), now }, 'Kerberos');

      const other = generateKey(cred.sessionKey.enctype);
      await assertCode(
        () => fresh().finish(forgedApRep(other, ctime, 123_000)),
        'kerberos_ap_rep_invalid',
      );
      other.key.dispose();
      const later = new Date(ctime.getTime() + 1000);
      await assertCode(
        () => fresh().finish(forgedApRep(cred.sessionKey, later, 123_000)),
        'kerberos_ap_rep_mismatch',
      );
      await assertCode(() => fresh().finish(echo(999_999)), 'kerberos_ap_rep_mismatch');
      await assertCode(
        () => fresh().finish(frameKrb5(TOK_ID.krb_error, Buffer.from([0x7e, 0]))),
        'kerberos_gss_krb_error',
      );
      await assertCode(() => fresh().finish(undefined), 'kerberos_ap_rep_missing');
      await assertCode(
        () => fresh().finish(Buffer.from('not a token')),
        'kerberos_gss_token_invalid',
      );
      const p = fresh();
      p.dispose();
      await assertCode(() => p.finish(echo(0)), 'kerberos_context_state');
    });
  },
);
