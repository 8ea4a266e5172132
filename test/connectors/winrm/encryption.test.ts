/**
 * MS-WSMV message encryption against the real acceptor (the WinRM double's gss.py framing
 * and MIT's wrap_iov): bodies we encrypt decrypt there and vice versa, under both schemes'
 * protocol strings; a reply whose declared Length lies, whose protocol is not the
 * connection's, whose GSS header length overruns, or that is too large is refused. Then end
 * to end: the WinRM double over HTTP on 127.0.0.1 (one keep-alive connection, as WinRM's
 * context is per connection) with our SPNEGO token, the AP-REP check, encrypted WS-Man
 * envelopes from src/connectors/winrm and the shell driver: `whoami` answers `bastion\alice`.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../../src/connectors/winrm/shell-run.js';
import {
  decryptBody,
  encryptBody,
  encryptedContentType,
} from '../../../src/connectors/winrm/encryption.js';
import { initiateContext, type GssScheme } from '../../../src/kerberos/gss/initiator.js';
import type { GssSession } from '../../../src/kerberos/gss/session.js';
import type { CachedCredential } from '../../helpers/ccache.js';
import {
  b64,
  serviceTicket,
  startGssAcceptor,
  unb64,
  type GssAcceptor,
} from '../../helpers/gss-acceptor.js';
import { type Kdc, startKdc } from '../../helpers/kdc.js';
import {
  skipWithoutWinrmDouble,
  startWinrmDouble,
  type WinrmDouble,
} from '../../helpers/winrm-double.js';

const MAX = 1024 * 1024;
const SOAP = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">é</s:Envelope>';

const assertCode = (fn: () => unknown, code: string): void =>
  assert.throws(fn, (e: { code?: string }) => e.code === code);

describe(
  'WinRM message encryption with a real acceptor',
  { skip: skipWithoutWinrmDouble() },
  () => {
    let kdc: Kdc;
    let cred: CachedCredential;
    let double: WinrmDouble;
    const acceptors: GssAcceptor[] = [];

    before(async () => {
      kdc = await startKdc();
      cred = await serviceTicket(kdc, kdc.users.alice, 'HTTP/win1.bastion.test');
      double = await startWinrmDouble(kdc);
    });
    after(async () => {
      for (const a of acceptors) a.stop();
      cred.sessionKey.key.dispose();
      await double.stop();
      await kdc.stop();
    });

    async function establish(scheme: GssScheme): Promise<{ a: GssAcceptor; s: GssSession }> {
      const a = startGssAcceptor(kdc);
      acceptors.push(a);
      const input = { ticket: cred.ticket, sessionKey: cred.sessionKey, client: cred.client };
      const pending = initiateContext(input, scheme);
      const r = await a.call({ op: 'accept', scheme, token: b64(pending.token) });
      return { a, s: pending.finish(unb64(r['reply'])) };
    }

    for (const scheme of ['Negotiate', 'Kerberos'] as const) {
      it(`${scheme}: bodies cross both ways in the multipart/encrypted framing`, async () => {
        const { a, s } = await establish(scheme);
        const body = encryptBody(s, scheme, Buffer.from(SOAP));
        assert.match(
          body.toString('latin1'),
          new RegExp(scheme === 'Negotiate' ? 'SPNEGO' : 'Kerberos'),
        );
        assert.equal(
          unb64((await a.call({ op: 'decrypt', body: b64(body) }))['data']).toString(),
          SOAP,
        );
        const reply = unb64(
          (await a.call({ op: 'encrypt', data: b64(Buffer.from(SOAP)) }))['body'],
        );
        assert.equal(decryptBody(s, scheme, reply, MAX).toString(), SOAP);
        s.dispose();
      });
    }

    it('refuses a reply whose Length lies, of another protocol, with an overlong header length, too large', async () => {
      const { a, s } = await establish('Negotiate');
      const next = async (): Promise<Buffer> =>
        unb64((await a.call({ op: 'encrypt', data: b64(Buffer.from(SOAP)) }))['body']);
      const n = Buffer.byteLength(SOAP);
      for (const lie of [n + 1, n - 1, 0]) {
        const body = Buffer.from(
          (await next()).toString('latin1').replace(`Length=${n}`, `Length=${lie}`),
          'latin1',
        );
        assertCode(() => decryptBody(s, 'Negotiate', body, MAX), 'winrm_encrypted_length_mismatch');
      }
      // Refused before unwrapping: the untampered body still opens after each.
      const refusedUnread = async (
        tamper: (b: Buffer) => Buffer,
        code: string,
        max = MAX,
      ): Promise<void> => {
        const body = await next();
        assertCode(() => decryptBody(s, 'Negotiate', tamper(Buffer.from(body)), max), code);
        assert.equal(decryptBody(s, 'Negotiate', body, MAX).toString(), SOAP);
      };
      const latin1 = (b: Buffer, from: string, to: string): Buffer =>
        Buffer.from(b.toString('latin1').replace(from, to), 'latin1');
      await refusedUnread((b) => latin1(b, 'SPNEGO', 'Kerberos'), 'winrm_encrypted_malformed');
      await refusedUnread((b) => {
        const at = b.indexOf('octet-stream\r\n') + 'octet-stream\r\n'.length;
        b.writeUInt32LE(b.byteLength, at);
        return b;
      }, 'winrm_encrypted_malformed');
      await refusedUnread((b) => b.subarray(0, b.byteLength - 3), 'winrm_encrypted_malformed');
      await refusedUnread((b) => b, 'winrm_reply_too_large', 100);
      s.dispose();
    });

    it('end to end: SPNEGO, the AP-REP, encrypted WS-Man envelopes; whoami is bastion\\alice', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const post = (
        headers: Record<string, string>,
        body: Buffer,
      ): Promise<{
        status: number;
        headers: Record<string, unknown>;
        body: Buffer;
        reused: boolean;
      }> =>
        new Promise((resolve, reject) => {
          const req = request(
            double.endpoint,
            {
              method: 'POST',
              agent,
              headers: { ...headers, 'Content-Length': String(body.byteLength) },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  headers: res.headers,
                  body: Buffer.concat(chunks),
                  reused: req.reusedSocket,
                }),
              );
            },
          );
          req.once('error', reject);
          req.end(body);
        });
      const input = { ticket: cred.ticket, sessionKey: cred.sessionKey, client: cred.client };
      const pending = initiateContext(input, 'Negotiate');
      const hello = await post(
        { Authorization: `Negotiate ${b64(pending.token)}` },
        Buffer.alloc(0),
      );
      assert.equal(hello.status, 200);
      const challenge = String(hello.headers['www-authenticate']);
      const m = /^Negotiate (\S+)$/.exec(challenge);
      assert.ok(m !== null, challenge);
      const s = pending.finish(unb64(m[1]));
      const send = async (envelope: string): Promise<string> => {
        const r = await post(
          { 'Content-Type': encryptedContentType('Negotiate') },
          encryptBody(s, 'Negotiate', Buffer.from(envelope)),
        );
        assert.ok(r.reused, 'one connection: the security context is per connection');
        return decryptBody(s, 'Negotiate', r.body, MAX).toString('utf8');
      };
      const result = await runCommand(
        send,
        { command: 'whoami' },
        {
          to: double.endpoint,
          timeoutMs: 60_000,
          maxOutputBytes: 4096,
        },
      );
      assert.equal(result.stdout, 'bastion\\alice\n');
      assert.equal(result.exit_code, 0);
      const ops = double.requests().filter((q) => q.operation !== null);
      assert.ok(ops.length >= 3);
      for (const q of ops) {
        assert.equal(q.principal, kdc.users.alice.principal);
        assert.equal(q.encrypted, true);
      }
      s.dispose();
      agent.destroy();
    });
  },
);
