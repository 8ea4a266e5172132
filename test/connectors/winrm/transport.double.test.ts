/**
 * The WinRM transport's refusals (double-backed: alice's real ticket from the MIT KDC, and
 * for the authenticated cases the WinRM double's own acceptor code with win1's keytab),
 * against tiny `node:http` servers on 127.0.0.1 that misbehave on purpose. Authentication
 * fails closed with the initiator's codes when the AP-REP is missing, garbled or replayed
 * from another context, and with the transport's own when the status is wrong — in every
 * case after one bodiless POST, so no envelope (encrypted or not) ever left. Once
 * authenticated: a plaintext reply, a 401, and a connection the server closed (a new socket
 * has no context) are refused, the last before the body is written.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BastionError } from '../../../src/base/errors.js';
import { WinRmConnector } from '../../../src/connectors/winrm/connector.js';
import { initiateContext, type GssScheme } from '../../../src/kerberos/gss/initiator.js';
import { readKrbCred } from '../../../src/kerberos/client/read-krb-cred.js';
import type { KerberosCredential } from '../../../src/credentials/types.js';
import { b64, startGssAcceptor, type GssAcceptor } from '../../helpers/gss-acceptor.js';
import { type Kdc, startKdc } from '../../helpers/kdc.js';
import { kerberosCredential, runContext } from '../../helpers/winrm-credential.js';
import { skipWithoutWinrmDouble } from '../../helpers/winrm-double.js';

const WIN1 = 'win1.bastion.test';

interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Never answer (the client's deadline must end the wait). */
  readonly hang?: boolean;
  /** Send the body in two chunks, without Content-Length. */
  readonly chunked?: boolean;
}

interface Seen {
  readonly connection: number;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly bytes: number;
}

interface Fake {
  readonly port: number;
  readonly seen: Seen[];
  connections(): number;
  close(): Promise<void>;
}

/** A server answering the nth request (0: the context setup) with `answer(n, request)`. */
async function fakeWinRm(
  answer: (n: number, req: IncomingMessage) => Answer | Promise<Answer>,
): Promise<Fake> {
  const seen: Seen[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = seen.length;
      seen.push({
        connection: (req.socket as unknown as { id: number }).id,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        bytes: Buffer.concat(chunks).byteLength,
      });
      void Promise.resolve(answer(n, req)).then((a) => {
        if (a.hang === true) return;
        res.writeHead(a.status, a.headers ?? {});
        if (a.chunked === true) res.write(a.body?.slice(0, 1) ?? '');
        res.end(a.chunked === true ? (a.body?.slice(1) ?? '') : (a.body ?? ''));
      });
    });
  });
  server.on('connection', (socket) => {
    connections += 1;
    (socket as unknown as { id: number }).id = connections;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const code = (c: string) => (err: unknown) =>
  err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

describe('the WinRM transport refuses (double-backed)', { skip: skipWithoutWinrmDouble() }, () => {
  let kdc: Kdc;
  let cred: KerberosCredential;
  const fakes: Fake[] = [];
  const acceptors: GssAcceptor[] = [];

  before(async () => {
    kdc = await startKdc();
    cred = await kerberosCredential(kdc);
  });
  after(async () => {
    for (const f of fakes) await f.close();
    for (const a of acceptors) a.stop();
    cred?.ticket.dispose();
    await kdc?.stop();
  });

  const serve = async (answer: Parameters<typeof fakeWinRm>[0]): Promise<Fake> => {
    const fake = await fakeWinRm(answer);
    fakes.push(fake);
    return fake;
  };
  const run = (fake: Fake, scheme: GssScheme = 'Negotiate', timeout?: number) =>
    new WinRmConnector({
      port: 1,
      scheme,
      path: '/wsman',
      hosts: new Map([[WIN1, { address: '127.0.0.1', port: fake.port }]]),
      maxReplyBytes: 64 * 1024,
    }).run(runContext(cred, WIN1, { argv: ['whoami'], ...(timeout ? { timeout } : {}) }));

  /** One POST only: the context setup, with its token and no body. */
  const onlyTheSetup = (fake: Fake): void => {
    assert.equal(fake.seen.length, 1);
    assert.match(fake.seen[0]?.authorization ?? '', /^(Negotiate|Kerberos) [A-Za-z0-9+/=]+$/);
    assert.equal(fake.seen[0]?.bytes, 0);
  };

  /** A real acceptor's answer to the setup, as the WinRM double gives it. */
  const accepting = (scheme: GssScheme, acceptor: GssAcceptor) => async (req: IncomingMessage) => {
    const token = (req.headers.authorization ?? '').replace(/^\S+ /, '');
    const r = await acceptor.call({ op: 'accept', scheme, token });
    return { status: 200, headers: { 'WWW-Authenticate': `${scheme} ${r['reply'] ?? ''}` } };
  };
  const acceptor = (): GssAcceptor => {
    const a = startGssAcceptor(kdc);
    acceptors.push(a);
    return a;
  };

  it('a 200 without the AP-REP: kerberos_ap_rep_missing, nothing else sent', async () => {
    for (const scheme of ['Negotiate', 'Kerberos'] as const) {
      for (const headers of [
        {},
        { 'WWW-Authenticate': scheme },
        { 'WWW-Authenticate': 'Basic x' },
      ]) {
        const fake = await serve(() => ({ status: 200, headers }));
        await assert.rejects(run(fake, scheme), code('kerberos_ap_rep_missing'));
        onlyTheSetup(fake);
      }
    }
  });

  it('a garbled AP-REP: refused by the initiator, nothing else sent', async () => {
    for (const token of [
      '!!not-base64!!',
      'AAAA',
      Buffer.from('a forged reply').toString('base64'),
    ]) {
      const fake = await serve(() => ({
        status: 200,
        headers: { 'WWW-Authenticate': `Kerberos ${token}` },
      }));
      await assert.rejects(run(fake, 'Kerberos'), (e: unknown) => {
        assert.ok(e instanceof BastionError && /^kerberos_/.test(e.code), String(e));
        return true;
      });
      onlyTheSetup(fake);
    }
  });

  it('a real AP-REP of another context (replayed): kerberos_ap_rep_mismatch, nothing else sent', async () => {
    // The acceptor's genuine answer to an AP-REQ of ours that is not this connection's.
    const read = readKrbCred(cred.ticket);
    const other = initiateContext(read, 'Kerberos');
    const a = acceptor();
    const r = await a.call({ op: 'accept', scheme: 'Kerberos', token: b64(other.token) });
    other.dispose();
    read.sessionKey.key.dispose();
    const fake = await serve(() => ({
      status: 200,
      headers: { 'WWW-Authenticate': `Kerberos ${r['reply'] ?? ''}` },
    }));
    await assert.rejects(run(fake, 'Kerberos'), code('kerberos_ap_rep_mismatch'));
    onlyTheSetup(fake);
  });

  it('a 401, another status, or an oversized reply to the setup: refused, nothing else sent', async () => {
    const cases: [Answer, string][] = [
      [{ status: 401, headers: { 'WWW-Authenticate': 'Negotiate' } }, 'winrm_auth_refused'],
      [{ status: 500 }, 'winrm_http_status'],
      [{ status: 200, body: 'x'.repeat(64 * 1024 + 1) }, 'winrm_reply_too_large'],
      [{ status: 200, body: 'x'.repeat(64 * 1024 + 1), chunked: true }, 'winrm_reply_too_large'],
    ];
    for (const [answer, expected] of cases) {
      const fake = await serve(() => answer);
      await assert.rejects(run(fake), code(expected));
      onlyTheSetup(fake);
    }
  });

  it('no answer to the setup: the run times out, nothing else sent', async () => {
    const fake = await serve(() => ({ status: 200, hang: true }));
    const result = await run(fake, 'Negotiate', 1);
    assert.equal(result.timed_out, true);
    assert.equal(result.exit_code, null);
    onlyTheSetup(fake);
  });

  it('authenticated, then a plaintext reply or a 401: refused', async () => {
    const cases: [Answer, string][] = [
      [
        {
          status: 200,
          headers: { 'Content-Type': 'application/soap+xml;charset=UTF-8' },
          body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>',
        },
        'winrm_reply_unencrypted',
      ],
      [
        { status: 400, headers: { 'Content-Type': 'application/soap+xml' }, body: '<x/>' },
        'winrm_reply_unencrypted',
      ],
      [{ status: 401, headers: { 'WWW-Authenticate': 'Negotiate' } }, 'winrm_auth_refused'],
    ];
    for (const [answer, expected] of cases) {
      const accept = accepting('Negotiate', acceptor());
      const fake = await serve((n, req) => (n === 0 ? accept(req) : answer));
      await assert.rejects(run(fake), code(expected));
      // The setup, then Create sealed on the same connection; nothing after the refusal.
      assert.equal(fake.seen.length, 2);
      assert.equal(fake.seen[1]?.connection, fake.seen[0]?.connection);
      assert.match(
        fake.seen[1]?.contentType ?? '',
        /^multipart\/encrypted;protocol="application\/HTTP-SPNEGO-session-encrypted"/,
      );
    }
  });

  it('authenticated, then the server closes the connection: the new socket gets no body', async () => {
    const accept = accepting('Kerberos', acceptor());
    const fake = await serve(async (_n, req) => {
      const a = await accept(req);
      return { ...a, headers: { ...a.headers, Connection: 'close' } };
    });
    await assert.rejects(run(fake, 'Kerberos'), code('winrm_connection_lost'));
    // The Agent's new socket was refused before Create was written on it: one request only.
    assert.equal(fake.seen.length, 1);
    assert.ok(fake.connections() <= 2);
  });
});
