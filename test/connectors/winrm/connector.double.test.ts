/**
 * The winrm connector (double-backed) end to end: alice's ticket from the real MIT KDC
 * (S4U2Self + S4U2Proxy, as the kerberos backend gets it), the WinRM double accepting with
 * win1's keytab. Under both schemes `whoami` is `bastion\alice`, the double saw alice and
 * only encrypted bodies; a PowerShell script reaches it as written; a timeout and an abort
 * end the command (Signal terminate) and delete the shell; a ticket for another host, or
 * labels that the ticket contradicts, are refused before any connection. A target routed
 * to a name is resolved once: a metadata answer is refused before any connection (the
 * connect double, loopback only, records every address asked for), a loopback answer is
 * used for every connection of the run, even when the name is rebound in between.
 */
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BastionError } from '../../../src/base/errors.js';
import {
  WinRmConnector,
  type WinRmConnectorOptions,
} from '../../../src/connectors/winrm/connector.js';
import type { WinRmOperation } from '../../../src/connectors/winrm/operation.js';
import type { KerberosCredential } from '../../../src/credentials/types.js';
import { type Kdc, startKdc } from '../../helpers/kdc.js';
import { fakeDns, loopbackOnlyConnect } from '../../helpers/offhost.js';
import { kerberosCredential, runContext } from '../../helpers/winrm-credential.js';
import {
  skipWithoutWinrmDouble,
  startWinrmDouble,
  type WinrmDouble,
  type WinrmRequest,
} from '../../helpers/winrm-double.js';

const WIN1 = 'win1.bastion.test';
const WIN2 = 'win2.bastion.test';

const code = (c: string) => (err: unknown) =>
  err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

/** Resolves once the double logged `operation` after its `mark`th request (its log watched). */
function untilLogged(double: WinrmDouble, mark: number, operation: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (): boolean =>
      double
        .requests()
        .slice(mark)
        .some((r) => r.operation === operation);
    if (check()) return resolve();
    const watcher = watch(dirname(double.sandbox), () => {
      if (!check()) return;
      watcher.close();
      resolve();
    });
  });
}

describe('the winrm connector (double-backed)', { skip: skipWithoutWinrmDouble() }, () => {
  let kdc: Kdc;
  let double: WinrmDouble;
  const credentials: KerberosCredential[] = [];

  before(async () => {
    kdc = await startKdc();
    double = await startWinrmDouble(kdc);
  });
  after(async () => {
    for (const c of credentials) c.ticket.dispose();
    await double?.stop();
    await kdc?.stop();
  });

  const connector = (over: Partial<WinRmConnectorOptions> = {}): WinRmConnector =>
    new WinRmConnector({
      port: 1,
      scheme: 'Negotiate',
      path: '/wsman',
      hosts: new Map([
        [WIN1, { address: '127.0.0.1', port: double.port }],
        [WIN2, { address: '127.0.0.1', port: double.port }],
      ]),
      maxReplyBytes: 1024 * 1024,
      ...over,
    });
  const credential = async (spn?: string): Promise<KerberosCredential> => {
    const c = await kerberosCredential(kdc, spn);
    credentials.push(c);
    return c;
  };
  /** The double's requests from `mark` on that carried an operation. */
  const operations = (mark: number): WinrmRequest[] =>
    double
      .requests()
      .slice(mark)
      .filter((r) => r.operation !== null);

  /**
   * Signal then Delete after Create and Command, all encrypted. The aborted request took
   * its connection with it (HTTP/1.1 cannot cancel one), so they went over a second one,
   * authenticated afresh: two context setups (bodiless POSTs) in all.
   */
  const assertTerminated = (mark: number): void => {
    const seen = operations(mark).map((r) => r.operation);
    assert.deepEqual(seen.slice(0, 2), ['Create', 'Command']);
    assert.ok(seen.indexOf('Signal') > 1 && seen.at(-1) === 'Delete', seen.join(' '));
    for (const r of operations(mark)) assert.equal(r.encrypted, true);
    const setups = double
      .requests()
      .slice(mark)
      .filter((r) => r.operation === null);
    assert.equal(setups.length, 2);
  };

  for (const scheme of ['Negotiate', 'Kerberos'] as const) {
    it(`${scheme}: whoami is bastion\\alice, every body encrypted, the key zero-filled after`, async () => {
      const mark = double.requests().length;
      const cred = await credential();
      const before = Buffer.from(cred.ticket.unsafeReveal());
      const op: WinRmOperation = { argv: ['whoami'] };
      const result = await connector({ scheme }).run(runContext(cred, WIN1, op));
      assert.equal(result.stdout, 'bastion\\alice\n');
      assert.equal(result.exit_code, 0);
      assert.equal(result.timed_out, false);
      const ops = operations(mark);
      const seen = ops.map((r) => r.operation).join(' ');
      assert.match(seen, /^Create Command (Receive )+Delete$/);
      for (const r of double.requests().slice(mark)) {
        assert.equal(r.principal, kdc.users.alice.principal);
        assert.equal(r.refused, undefined);
      }
      for (const r of ops) assert.equal(r.encrypted, true);
      // The connector read the credential, never changed it: the backend discards it.
      assert.deepEqual(cred.ticket.unsafeReveal(), before);
    });
  }

  it('runs a cmd.exe command and a PowerShell script, which reaches the double as written', async () => {
    const cred = await credential();
    const line = await connector().run(runContext(cred, WIN1, { command: 'hostname' }));
    assert.equal(line.stdout, 'win1\n');
    const script = "Write-Output 'hello from alice'";
    const ps = await connector().run(runContext(cred, WIN1, { powershell: script }));
    assert.equal(ps.exit_code, 0);
    assert.ok(
      double
        .scripts()
        .some((s) => s.powershell === script && s.principal === kdc.users.alice.principal),
    );
  });

  it('past its timeout the command gets Signal terminate and the shell is deleted', async () => {
    const mark = double.requests().length;
    const cred = await credential();
    const op: WinRmOperation = { argv: ['ping', '-t', '127.0.0.1'], timeout: 1 };
    const result = await connector().run(runContext(cred, WIN1, op));
    assert.equal(result.timed_out, true);
    assert.equal(result.exit_code, null);
    assert.equal(result.signal, 'terminate');
    assertTerminated(mark);
  });

  it("the caller's abort ends the run as a timeout: terminated and deleted", async () => {
    const mark = double.requests().length;
    const cred = await credential();
    const controller = new AbortController();
    const op: WinRmOperation = { argv: ['ping', '-t', '127.0.0.1'] };
    const running = connector().run(runContext(cred, WIN1, op, { signal: controller.signal }));
    await untilLogged(double, mark, 'Receive');
    controller.abort();
    const result = await running;
    assert.equal(result.timed_out, true);
    assert.equal(result.signal, 'terminate');
    assertTerminated(mark);
  });

  it('aborted before it starts: nothing is sent', async () => {
    const mark = double.requests().length;
    const controller = new AbortController();
    controller.abort();
    const result = await connector().run(
      runContext(await credential(), WIN1, { argv: ['whoami'] }, { signal: controller.signal }),
    );
    assert.equal(result.timed_out, true);
    assert.equal(result.exit_code, null);
    assert.equal(result.signal, undefined);
    assert.equal(double.requests().length, mark);
  });

  it('a ticket for another host, or labels the ticket contradicts: credential_scope_invalid, no connection', async () => {
    const mark = double.requests().length;
    const cred = await credential();
    const op: WinRmOperation = { argv: ['whoami'] };
    // win2 is routed to the same double: only the scope check keeps win1's ticket off it.
    await assert.rejects(
      connector().run(runContext(cred, WIN2, op)),
      code('credential_scope_invalid'),
    );
    // The labels say win2 (or bob); the ticket inside says win1 (and alice): the ticket wins.
    const relabelled: [KerberosCredential, string][] = [
      [{ ...cred, servicePrincipal: `WSMAN/${WIN2}@${kdc.realm}`, target: WIN2 }, WIN2],
      [{ ...cred, servicePrincipal: `HTTP/${WIN1}@${kdc.realm}` }, WIN1],
      [{ ...cred, clientPrincipal: kdc.users.bob.principal }, WIN1],
    ];
    for (const [c, target] of relabelled) {
      await assert.rejects(
        connector().run(runContext(c, target, op)),
        code('credential_scope_invalid'),
      );
    }
    const notKerberos = { ...cred, type: 'oauth' } as unknown as KerberosCredential;
    await assert.rejects(
      connector().run(runContext(notKerberos, WIN1, op)),
      code('credential_scope_invalid'),
    );
    assert.equal(double.requests().length, mark);
  });

  describe('the pinned destination', () => {
    const routed = (address: string, over: Partial<WinRmConnectorOptions>): WinRmConnector =>
      connector({ hosts: new Map([[WIN1, { address, port: double.port }]]), ...over });

    it('a name answering a metadata address: winrm_destination_refused, nothing connected', async () => {
      const mark = double.requests().length;
      const lookup = fakeDns({
        'meta.internal': '169.254.169.254',
        'mixed.internal': ['127.0.0.1', 'fd00:ec2::254'],
      });
      const connect = loopbackOnlyConnect();
      for (const address of ['meta.internal', 'mixed.internal']) {
        await assert.rejects(
          routed(address, { lookup, connect }).run(
            runContext(await credential(), WIN1, { argv: ['whoami'] }),
          ),
          (err) => code('winrm_destination_refused')(err) && (err as BastionError).status === 403,
        );
      }
      assert.deepEqual(lookup.calls, ['meta.internal', 'mixed.internal']);
      assert.deepEqual(connect.attempts, []);
      assert.equal(double.requests().length, mark);
    });

    it('would be caught connecting to a metadata address: the double records it and refuses', async () => {
      // A literal is used as is (the operator named it exactly): the one way to get that
      // address to the connect function, which the refusal above keeps DNS answers from.
      const connect = loopbackOnlyConnect();
      await assert.rejects(
        routed('169.254.169.254', { lookup: fakeDns({}), connect }).run(
          runContext(await credential(), WIN1, { argv: ['whoami'] }),
        ),
        code('winrm_connect_failed'),
      );
      assert.deepEqual(connect.attempts, ['169.254.169.254']);
    });

    it('a name answering loopback is resolved once; every connection goes to that answer', async () => {
      // Rebound after the first answer: a second lookup would get the metadata address.
      const answers = ['127.0.0.1', '169.254.169.254'];
      const calls: string[] = [];
      const lookup = ((hostname, _options, callback) => {
        calls.push(hostname);
        const address = answers[Math.min(calls.length - 1, 1)] ?? '';
        callback(null, [{ address, family: 4 }]);
      }) as LookupFunction;
      const connect = loopbackOnlyConnect();
      const mark = double.requests().length;
      // Timed out: Signal and Delete go over a second connection, authenticated afresh.
      const op: WinRmOperation = { argv: ['ping', '-t', '127.0.0.1'], timeout: 1 };
      const result = await routed('win1.internal', { lookup, connect }).run(
        runContext(await credential(), WIN1, op),
      );
      assert.equal(result.timed_out, true);
      assertTerminated(mark);
      assert.deepEqual(calls, ['win1.internal']);
      assert.deepEqual(connect.attempts, ['127.0.0.1', '127.0.0.1']);
    });
  });
});
