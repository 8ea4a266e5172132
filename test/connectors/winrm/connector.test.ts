/**
 * The winrm connector without a peer: its settings (`{}` accepted, defaults, refusals that
 * never repeat the value), its registration, and its policy — an argv or cmd.exe line is
 * the command line the accord's policy matches, cmd.exe syntax under a policy is refused,
 * a PowerShell script is checked per command and described by its commands' names. Through
 * the session lifecycle, each refusal comes before any credential is asked for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../../src/base/audit-records.js';
import { BastionError } from '../../../src/base/errors.js';
import { connectorRegistry } from '../../../src/connectors/registry.js';
import type { WinRmConnector } from '../../../src/connectors/winrm/connector.js';
import type { WinRmOperation } from '../../../src/connectors/winrm/operation.js';
import { winrmPlugin, type WinRmSettings } from '../../../src/connectors/winrm/plugin.js';
import { CredentialResolver } from '../../../src/credentials/resolver.js';
import { scriptedBackend } from '../../helpers/backends.js';
import { newMarker } from '../../helpers/leak.js';
import { sessionHarness } from '../../helpers/session.js';

const ctx = { baseDir: '/etc/bastion' };
const parse = (raw: unknown) => winrmPlugin.settings(ctx).safeParse(raw);
const connector = winrmPlugin.create(parse({}).data, {} as never) as WinRmConnector;
const POLICY = {
  commands: { allow: ['whoami', 'whoami *', 'get-*', 'hostname'], deny: ['remove-item'] },
};

const code = (c: string) => (err: unknown) =>
  err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

describe('connectors.winrm settings', () => {
  it('accepts {} with the defaults, and is registered as kind winrm', () => {
    assert.deepEqual(parse({}).data, {
      port: 5985,
      scheme: 'Negotiate',
      path: '/wsman',
      hosts: new Map(),
      max_reply_bytes: 1024 * 1024,
    });
    assert.equal(connectorRegistry.get('winrm'), winrmPlugin);
    assert.equal(connector.credentialType, 'kerberos');
  });

  it('reads hosts by canonical target name, the scheme and the rest', () => {
    const s = parse({
      port: 5986,
      scheme: 'Kerberos',
      path: '/wsman-alt',
      hosts: { 'WIN1.Bastion.Test.': { address: '10.0.0.5', port: 5985 } },
      max_reply_bytes: 65536,
    });
    assert.ok(s.success);
    const data = s.data as WinRmSettings;
    assert.deepEqual(data.hosts.get('win1.bastion.test'), { address: '10.0.0.5', port: 5985 });
    assert.equal(data.scheme, 'Kerberos');
  });

  it('refuses bad values without repeating them', () => {
    const marker = newMarker();
    for (const bad of [
      { port: 0 },
      { port: 70000 },
      { port: marker },
      { scheme: marker },
      { scheme: 'Basic' },
      { path: `wsman${marker}` },
      { path: '/ws man' },
      { hosts: { [`not a host ${marker}`]: {} } },
      { hosts: { 'win1.bastion.test': { address: 'x', user: marker } } },
      { max_reply_bytes: 1024 },
      { max_reply_bytes: 1e9 },
      { https: true },
    ]) {
      const r = parse(bad);
      assert.equal(r.success, false, JSON.stringify(bad));
      assert.ok(!JSON.stringify(r.error?.issues).includes(marker));
    }
  });
});

describe('the winrm connector policy', () => {
  const line = (op: WinRmOperation, ac: object = POLICY) => connector.commandLine(op, ac);

  it('an argv or a cmd.exe line is what the policy matches', () => {
    assert.equal(line({ argv: ['whoami', '/groups'] }), 'whoami /groups');
    assert.equal(line({ command: 'hostname' }), 'hostname');
    assert.equal(connector.describe({ argv: ['whoami'] }), 'whoami');
    // An argv whose join would be ambiguous is refused under a policy, as for ssh.
    assert.throws(() => line({ argv: ['whoami', ' /all'] }), code('command_not_allowed'));
  });

  it('cmd.exe syntax is refused under a policy (shell_syntax_not_allowed), allowed without one', () => {
    for (const c of [
      'whoami & del x',
      'whoami | more',
      'whoami > x',
      'type < x',
      'echo ^& x',
      'echo %PATH%',
      'echo !x!',
      '(whoami)',
      'whoami "x"',
      'whoami\r\ndel x',
      'whoami\ndel x',
    ]) {
      assert.throws(() => line({ command: c }), code('shell_syntax_not_allowed'), c);
      assert.equal(line({ command: c }, {}), c);
    }
  });

  it('a PowerShell script: no command line, each command checked, described by name', () => {
    const script = 'Get-Process; whoami';
    assert.equal(line({ powershell: script }), undefined);
    connector.checkPolicy({ powershell: script }, POLICY);
    assert.equal(
      connector.describe({ powershell: 'del x; gci' }),
      'powershell: remove-item, get-childitem',
    );
    assert.throws(
      () => connector.checkPolicy({ powershell: 'Get-Item x; del x' }, POLICY),
      code('command_not_allowed'),
    );
    assert.throws(
      () => connector.checkPolicy({ powershell: "iex 'whoami'" }, POLICY),
      code('winrm_powershell_unclassifiable'),
    );
    // Without a policy nothing is checked.
    connector.checkPolicy({ powershell: 'del x' }, {});
  });
});

describe('the winrm connector in the session lifecycle', () => {
  async function harness() {
    const backend = scriptedBackend('krb', () => Promise.reject(new Error('never asked')), {
      types: ['kerberos'],
    });
    const resolver = new CredentialResolver();
    resolver.register(backend);
    const events: AuditEvent[] = [];
    const h = await sessionHarness({
      jti: 'ac-w',
      ctx: {
        principal_did: '',
        capability_mask: 2,
        capabilities: ['exec'],
        accord_template: 'windows',
        connector: 'winrm',
        target: 'win1.bastion.test',
        commands: POLICY.commands,
      },
      connector,
      resolver,
      audit: { append: (e) => Promise.resolve(void events.push(e)) },
    });
    return { h, backend, events };
  }

  it('refuses a denied cmdlet, a denied command and cmd.exe syntax before any credential', async () => {
    const cases: [WinRmOperation, string, string][] = [
      [{ powershell: 'Remove-Item C:\\x' }, 'command_not_allowed', 'powershell: remove-item'],
      [{ argv: ['net', 'user'] }, 'command_not_allowed', 'net user'],
      [{ command: 'whoami & net user' }, 'shell_syntax_not_allowed', ''],
    ];
    for (const [op, expected, described] of cases) {
      const { h, backend, events } = await harness();
      await assert.rejects(h.invoke('win1.bastion.test', op), code(expected));
      assert.equal(backend.calls.length, 0);
      assert.deepEqual(
        events.map((e) => e.type),
        ['deny'],
      );
      assert.equal(events[0]?.detail?.['operation'] ?? '', described);
    }
  });
});
