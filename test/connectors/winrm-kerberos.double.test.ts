/**
 * Issue #12's acceptance, end to end through a broker over real HTTP, WinRM double-backed:
 * a did:key principal authorizes for `winrm` on a Windows-like target; the `kerberos`
 * backend obtains an S4U2Proxy ticket from the real MIT KDC (whose log shows S4U2Self and
 * S4U2Proxy for the mapped user and the target's SPN); the connector runs `whoami` on the
 * WinRM double (test/peers/winrm-double/), which reports the mapped Kerberos user; the
 * ticket is discarded; the audit names the Kerberos principal and the ticket's fingerprint,
 * never the ticket. Then the refusals — an SPN outside the delegation list, a denied command
 * and a denied cmdlet, an expired AC, a KDC outage — each with its stable code, and each
 * before any ticket is used: nothing reaches the target (the wire tap in front of the
 * double counts every connection).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../src/base/clock.js';
import { BastionClient, BrokerError } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { type AcClaims, unsafeDecodeAc } from '../../src/governance/ac.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import type { ExecResult } from '../../src/transports/types.js';
import { s4uRequests, showsDelegation } from '../helpers/kdc-log.js';
import {
  KERBEROS_BACKEND_ID,
  startWindowsWorld,
  WINDOWS_TARGET,
  WINRM_ACCORD,
  type WindowsWorld,
} from '../helpers/windows-world.js';
import { skipWithoutWinrmDouble } from '../helpers/winrm-double.js';

/** A name the accord and the backend know, whose SPN is not in the delegation list. */
const UNDELEGATED = 'other.bastion.test';

describe(
  'WinRM with per-invocation Kerberos tickets, end to end (WinRM double-backed)',
  {
    skip: skipWithoutWinrmDouble(),
  },
  () => {
    const alice = generatePrincipalKey();
    // Real time, moved on by a test that needs an AC past its expiry.
    let offsetMs = 0;
    const clock: Clock = { now: () => Date.now() + offsetMs };
    let world: WindowsWorld;
    let broker: RunningServer;
    let dataDir = '';

    before(async () => {
      world = await startWindowsWorld({
        moreTargets: [UNDELEGATED],
        commands: `{ allow: ["*"], deny: ["net *", "Stop-*", "Remove-Item*"] }`,
      });
      dataDir = mkdtempSync(join(tmpdir(), 'bastion-winrm-broker-'));
      const yaml = `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: warn
connectors:
${world.connectorYaml}backends:
${world.backendYaml}accords:${world.accordYaml(alice.did)}
`;
      broker = await startServer({
        config: parseConfig(yaml, join(dataDir, 'bastion.yaml')),
        logDestination: false,
        clock,
      });
    });
    after(async () => {
      await broker?.close();
      await world?.close();
      if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
    });

    const client = () => new BastionClient({ url: broker.url, key: alice });
    const authorize = async (target = WINDOWS_TARGET) => {
      const issued = await client().authorize({
        accord: WINRM_ACCORD,
        connector: 'winrm',
        target,
        capabilities: ['exec'],
        duration_seconds: 300,
      });
      if (issued.status !== 'active') throw new Error('expected an active AC');
      return issued.ac;
    };
    const invoke = (ac: string, operation: Record<string, unknown>, target = WINDOWS_TARGET) =>
      client().invoke<ExecResult>('winrm', ac, { target, operation });

    /**
     * `run` fails with `code` — the broker's own, or the kerberos backend's, which the
     * resolver names in its attempt — and nothing reached the target.
     */
    async function refusedBeforeAnyTicket(run: () => Promise<unknown>, code: string) {
      const connections = world.tap.connections;
      const kdcRequests = s4uRequests(world.kdc.log()).length;
      const attempt = new RegExp(`${KERBEROS_BACKEND_ID} \\(backend_\\w+: ${code}\\)`);
      await assert.rejects(
        run,
        (e: unknown) =>
          e instanceof BrokerError &&
          (e.code === code ||
            (e.code === 'credential_resolution_failed' && attempt.test(e.message))),
        code,
      );
      assert.equal(world.tap.connections, connections, 'nothing reached the target');
      return kdcRequests;
    }

    it('runs whoami as the mapped Kerberos user, with a ticket the KDC issued by S4U2Self + S4U2Proxy', async () => {
      const ac = await authorize();
      const r = await invoke(ac, { argv: ['whoami'] });
      assert.equal(r.result.exit_code, 0);
      assert.equal(r.result.stdout.trim(), 'bastion\\alice', 'the double saw alice');
      assert.equal(r.credential.type, 'kerberos');
      assert.equal(r.credential.issued_by, KERBEROS_BACKEND_ID);
      assert.ok(
        showsDelegation(world.kdc.log(), {
          user: 'alice',
          spn: `WSMAN/${WINDOWS_TARGET}`,
          service: world.kdc.broker.principal,
        }),
        'the KDC log shows S4U2Self then S4U2Proxy for alice to WSMAN/win1',
      );
      const seen = world.double.requests().filter((q) => q.operation !== null);
      assert.ok(seen.length >= 4, 'Create, Command, Receive, Delete');
      assert.ok(seen.every((q) => q.encrypted && q.principal === world.user));

      // The audit: the principal, the SPN and the fingerprint; issued, then discarded.
      const events = await broker.audit.list({ type: 'credential_issue' });
      const issue = events.at(-1);
      const detail = issue?.detail as Record<string, unknown> | undefined;
      assert.equal(detail?.['principal'], world.user);
      assert.match(String(detail?.['service']), /^WSMAN\/win1\.bastion\.test@BASTION\.TEST$/);
      assert.equal(detail?.['fingerprint'], r.credential.fingerprint);
      const discards = (await broker.audit.list({ type: 'credential_discard' })).filter(
        (e) => e.invocation_id === r.invocation_id,
      );
      assert.equal(discards.length, 1, 'the ticket was discarded');

      // Neither the ticket nor a key is anywhere in what the audit or the reply holds.
      const { tickets, keys } = world.secrets();
      assert.ok(tickets.length >= 1 && keys.length >= 3);
      const all = await broker.audit.list({});
      const text = Buffer.from(JSON.stringify(all) + JSON.stringify(r));
      const control = Buffer.concat([text, keys[0] ?? Buffer.alloc(0)]);
      assert.ok(control.includes(keys[0] ?? Buffer.from('x')), 'control: the check finds a key');
      for (const secret of [...tickets, ...keys]) {
        for (const form of [
          secret,
          Buffer.from(secret.toString('base64')),
          Buffer.from(secret.toString('hex')),
        ]) {
          assert.ok(!text.includes(form), 'no ticket or key in the audit or the reply');
        }
      }
    });

    it('refuses a target whose SPN is outside the delegation list, before the KDC is asked', async () => {
      const ac = await authorize(UNDELEGATED);
      const before = await refusedBeforeAnyTicket(
        () => invoke(ac, { argv: ['whoami'] }, UNDELEGATED),
        'kerberos_spn_not_delegated',
      );
      assert.equal(s4uRequests(world.kdc.log()).length, before, 'no S4U request at the KDC');
    });

    it('refuses a denied command, a cmd.exe line with metacharacters and a denied cmdlet', async () => {
      const ac = await authorize();
      await refusedBeforeAnyTicket(
        () => invoke(ac, { argv: ['net', 'user', 'eve', '/add'] }),
        'command_not_allowed',
      );
      await refusedBeforeAnyTicket(
        () => invoke(ac, { command: 'whoami & net user eve /add' }),
        'shell_syntax_not_allowed',
      );
      await refusedBeforeAnyTicket(
        () => invoke(ac, { powershell: 'Get-Service; Stop-Service -Name Spooler' }),
        'command_not_allowed',
      );
      // Control: an allowed cmdlet runs.
      const r = await invoke(ac, { powershell: 'Get-Date' });
      assert.equal(r.result.exit_code, 0);
    });

    it('refuses an expired AC', async () => {
      const ac = await authorize();
      const { exp } = unsafeDecodeAc(ac) as AcClaims;
      offsetMs = exp * 1000 - Date.now() + 10 * 60_000;
      try {
        await refusedBeforeAnyTicket(() => invoke(ac, { argv: ['whoami'] }), 'ac_expired');
      } finally {
        offsetMs = 0;
      }
    });

    it('refuses during a KDC outage, and works again once the KDC is back', async () => {
      const ac = await authorize();
      await world.kdc.stopKdc();
      try {
        await refusedBeforeAnyTicket(
          () => invoke(ac, { argv: ['whoami'] }),
          'kerberos_kdc_unreachable',
        );
      } finally {
        await world.kdc.restart();
      }
      const r = await invoke(ac, { argv: ['whoami'] });
      assert.equal(r.result.stdout.trim(), 'bastion\\alice');
    });
  },
);
