/**
 * The WinRM double (double-backed), checked by a third-party client: pywinrm (PyPI, with
 * pykerberos) with `transport='kerberos'` and `message_encryption='always'`, holding tickets
 * that kinit got from the real test KDC, runs commands and PowerShell through the double's
 * WinRS shell (test/peers/winrm_pywinrm.py prints what pywinrm got; this test checks it
 * against the double's request log). So the double speaks WS-Management with Kerberos and
 * MS-WSMV message encryption as Windows does, not a dialect only Bastion understands. The
 * refusals — no authentication, a ticket for another host, a plaintext body, a tampered
 * encrypted body, an unknown or another user's ShellId — are each asserted on both sides.
 * scripts/test-all.sh installs pywinrm into a cache keyed by its version (package.json);
 * without it (or the Debian packages) the test is skipped, except in CI, where that fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mitEnv, runTool } from '../helpers/kdc-cli.js';
import { path } from '../helpers/kdc-files.js';
import { type Kdc, type KdcUser, startKdc } from '../helpers/kdc.js';
import { repoRoot } from '../helpers/paths.js';
import {
  DEBIAN_PYTHON,
  skipWithoutWinrmDouble,
  startWinrmDouble,
  type WinrmDouble,
} from '../helpers/winrm-double.js';
import { skipWithoutFile } from '../helpers/peer-skip.js';
import { pinnedVersion, TOOLS_CACHE } from '../helpers/tools.js';

// The venv is keyed by both versions it pins (scripts/test-all.sh): a change of either reinstalls.
const pywinrm = pinnedVersion('pywinrm');
const pykerberos = pinnedVersion('pykerberos');
const PYTHON = join(TOOLS_CACHE, `pywinrm-${pywinrm}-pykerberos-${pykerberos}`, 'bin', 'python');

/** A client script of test/peers/ with `python`, a ccache and the double's address. */
function runClient(
  python: string,
  script: string,
  kdc: Kdc,
  ccache: string,
  double: WinrmDouble,
  args: string[] = [],
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, [join(repoRoot, 'test', 'peers', script), ...args], {
      env: {
        ...mitEnv(kdc, ccache),
        WINRM_ENDPOINT: double.endpoint,
        WINRM_PORT: String(double.port),
        WINRM_HOST: double.host,
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** A test-only FILE ccache in the KDC's temporary directory, from the user's password. */
async function kinit(kdc: Kdc, user: KdcUser, name: string): Promise<string> {
  const ccache = join(kdc.dir, `${name}.ccache`);
  const r = await runTool(path('kinit'), [user.principal], mitEnv(kdc, ccache), user.password);
  assert.equal(r.code, 0, `kinit ${user.principal}: ${r.stderr}`);
  return ccache;
}

describe(
  'the WinRM double (double-backed), driven by pywinrm',
  { skip: skipWithoutWinrmDouble() },
  () => {
    let kdc: Kdc;
    let double: WinrmDouble;

    before(async () => {
      kdc = await startKdc();
      double = await startWinrmDouble(kdc);
    });

    after(async () => {
      await double?.stop();
      await kdc?.stop();
    });

    it('refuses a request without Kerberos: 401 with a Negotiate challenge, nothing run', async () => {
      const res = await fetch(double.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/soap+xml;charset=UTF-8' },
        body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>',
      });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Negotiate\b/);
      const last = double.requests().at(-1);
      assert.deepEqual(last, {
        path: '/wsman',
        operation: null,
        principal: null,
        encrypted: false,
        status: 401,
      });
    });

    it('pywinrm runs commands and PowerShell as the Kerberos user, every body encrypted', async (t) => {
      const missing = skipWithoutFile(PYTHON, 'pywinrm', 'scripts/test-all.sh');
      if (missing !== false) {
        t.skip(missing);
        return;
      }
      const alice = await kinit(kdc, kdc.users.alice, 'alice');
      const bob = await kinit(kdc, kdc.users.bob, 'bob');
      const before = double.requests().length;
      const { code, out, err } = await runClient(PYTHON, 'winrm_pywinrm.py', kdc, alice, double, [
        'main',
      ]);
      assert.equal(code, 0, `pywinrm failed:\n${err}`);
      const r = JSON.parse(out);

      // What a pywinrm user sees.
      assert.deepEqual(r.whoami, { stdout: 'bastion\\alice\n', stderr: '', status: 0 });
      assert.equal(r.exit3.status, 3);
      assert.equal(r.echo.stdout, 'hello winrm\n');
      assert.deepEqual(r.ps_hello, { stdout: 'hello\n', stderr: '', status: 0 });
      assert.equal(r.ps_env.stdout, 'alice\nbastion\\alice\n');
      assert.deepEqual(r.ps_failing, { stdout: 'before\n', stderr: 'it failed', status: 1 });
      assert.equal(r.unknown_command.status, 1);
      assert.match(r.unknown_command.stderr, /'format' is not recognized/);
      assert.equal(r.whoami_wsman_spn.stdout, 'bastion\\alice\n', 'WSMAN/ as well as HTTP/');

      // WS-Man's edges.
      assert.match(r.unknown_shell.error.text, /w:InvalidSelectors/);
      assert.match(r.unknown_shell.error.text, /'wsmanfault_code': 2150858843\b/);
      assert.deepEqual(r.ping_first, {
        stdout: 'Reply from 127.0.0.1: bytes=32 time<1ms TTL=128\n',
        done: false,
      });
      assert.equal(r.receive_timeout, 'WinRMOperationTimeoutError', 'w:TimedOut, code 2150858793');
      assert.deepEqual(r.after_ctrl_c, { stdout: 'Control-C\n', status: -1073741510 });
      assert.match(r.deleted_shell.error.text, /w:InvalidSelectors/, 'a deleted shell is gone');

      // Refusals, as pywinrm saw them.
      for (const refusal of [r.plaintext, r.tampered]) {
        assert.equal(refusal.error.type, 'WSManFaultError');
        assert.match(
          refusal.error.text,
          /'http_status_code': 400\b.*'fault_subcode': 'w:AccessDenied'/,
        );
      }
      assert.equal(r.other_spn.error.type, 'InvalidCredentialsError');

      // Refusals, as the double saw them: nothing was run for any of them.
      const seen = double.requests().slice(before);
      const refused = seen.filter((q) => q.refused !== undefined);
      assert.deepEqual(
        refused.map((q) => [q.refused, q.principal, q.operation, q.status]),
        [
          ['unencrypted', kdc.users.alice.principal, null, 400],
          ['integrity', kdc.users.alice.principal, null, 400],
        ],
      );
      const answered = seen.filter((q) => q.operation !== null);
      assert.ok(answered.length > 20);
      for (const q of answered) {
        assert.equal(q.encrypted, true, `${q.operation} was encrypted`);
        assert.equal(q.principal, kdc.users.alice.principal);
      }
      const ops = new Set(answered.map((q) => q.operation));
      assert.deepEqual([...ops].sort(), ['Command', 'Create', 'Delete', 'Receive', 'Signal']);
      assert.ok(
        answered.some((q) => q.operation === 'Receive' && q.fault === 'w:TimedOut'),
        'the Receive timeout was a w:TimedOut fault',
      );
      // The other host's ticket never authenticated: 401s without a principal.
      assert.ok(seen.some((q) => q.status === 401 && q.principal === null));
      assert.deepEqual(
        double.scripts().map((s) => [s.powershell, s.principal]),
        [
          ['Write-Output hello', kdc.users.alice.principal],
          ['$env:USERNAME; whoami', kdc.users.alice.principal],
          ['Write-Output before\nthrow "it failed"', kdc.users.alice.principal],
        ],
      );

      // Bob cannot use the shell alice left open: to him it does not exist.
      const other = await runClient(PYTHON, 'winrm_pywinrm.py', kdc, bob, double, [
        'use-shell',
        r.kept_shell,
      ]);
      assert.equal(other.code, 0, `pywinrm failed:\n${other.err}`);
      assert.match(JSON.parse(other.out).use_shell.error.text, /w:InvalidSelectors/);
      assert.equal(double.requests().at(-1)?.principal, kdc.users.bob.principal);
    });

    it('a raw GSSAPI client (the Kerberos scheme): a replayed or signed-only body is refused', async () => {
      const alice = await kinit(kdc, kdc.users.alice, 'alice-raw');
      const before = double.requests().length;
      const { code, out, err } = await runClient(
        DEBIAN_PYTHON,
        'winrm_raw_client.py',
        kdc,
        alice,
        double,
      );
      assert.equal(code, 0, `the raw client failed:\n${err}`);
      const r = JSON.parse(out);
      assert.equal(r.create.status, 200);
      assert.match(r.create.shell_id, /^[0-9A-F-]{36}$/);
      assert.match(
        r.create.content_type,
        /protocol="application\/HTTP-Kerberos-session-encrypted"/,
      );
      assert.deepEqual(r.replayed, { status: 400 }, 'a replayed wrap token is refused');
      assert.deepEqual(
        r.signed,
        { status: 400 },
        'a wrap token without confidentiality is refused',
      );
      assert.deepEqual(
        double
          .requests()
          .slice(before)
          .map((q) => [q.operation, q.encrypted, q.status, q.refused]),
        [
          [null, false, 200, undefined],
          ['Create', true, 200, undefined],
          [null, true, 400, 'integrity'],
          [null, false, 200, undefined],
          [null, true, 400, 'unencrypted'],
        ],
      );
    });
  },
);
