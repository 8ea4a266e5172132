/**
 * The WinRM double (test/peers/winrm-double/, Python) per test file: a WS-Management server
 * on 127.0.0.1 whose Kerberos is real — Debian's python3-gssapi accepting with a target
 * host's keytab from the test KDC (test/helpers/kdc.ts) — with message encryption, the WinRS
 * shell and stand-in commands run in a sandbox directory. Its request log (one JSON line per
 * request: operation, principal, encrypted, status, fault; each decoded PowerShell script)
 * lets tests assert what happened on the server's side.
 *
 * `skipWithoutWinrmDouble` skips where the Debian packages are missing, except in CI
 * (scripts/debian-packages.sh installs them there), where that fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connects, kdcMissing, type Kdc } from './kdc.js';
import { repoRoot } from './paths.js';
import { skipUnlessMissingNone } from './peer-skip.js';

/** Debian's interpreter: python3-gssapi is installed for it, not for other Pythons. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * The environment of a Python GSSAPI acceptor (the double, test/peers/gss-acceptor): the
 * realm's krb5.conf, the host's keytab, and its replay cache (a real check) in `rcache`.
 */
export function acceptorEnv(kdc: Kdc, keytab: string, rcache: string): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    KRB5_CONFIG: kdc.krb5ConfPath,
    KRB5_KTNAME: `FILE:${keytab}`,
    KRB5RCACHEDIR: rcache,
    LC_ALL: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}
const SERVER = join(repoRoot, 'test', 'peers', 'winrm-double', 'server.py');

export interface WinrmRequest {
  readonly operation: string | null;
  readonly principal: string | null;
  readonly encrypted: boolean;
  readonly status: number;
  readonly fault?: string;
  /** Why a body was refused: `unencrypted` or `integrity`. */
  readonly refused?: string;
}

export interface WinrmDouble {
  /** `http://127.0.0.1:PORT/wsman`. */
  readonly endpoint: string;
  readonly port: number;
  /** The host whose keytab it accepts with (`win1.bastion.test`). */
  readonly host: string;
  /** The directory the commands run in. */
  readonly sandbox: string;
  /** Every request so far (not the script lines). */
  requests(): WinrmRequest[];
  /** Every decoded PowerShell script so far, with who ran it. */
  scripts(): { readonly powershell: string; readonly principal: string }[];
  stop(): Promise<void>;
}

/** What the double needs that is missing, as `thing (Debian package)`. */
export function winrmDoubleMissing(): string[] {
  const missing = kdcMissing();
  const gssapi = spawnSync(DEBIAN_PYTHON, ['-c', 'import gssapi.raw.ext_dce'], { stdio: 'ignore' });
  if (gssapi.status !== 0) missing.push(`${DEBIAN_PYTHON} with gssapi (python3-gssapi)`);
  return missing;
}

/** A describe's `skip`: false when the double can run, else why (never in CI: that fails). */
export function skipWithoutWinrmDouble(): string | false {
  return skipUnlessMissingNone('the WinRM double', winrmDoubleMissing());
}

// Whatever a test file leaves running dies with it, and its directory goes.
const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts the double for `host`'s SPNs (its keytab from `kdc`); resolves once it listens. */
export async function startWinrmDouble(kdc: Kdc, host = 'win1.bastion.test'): Promise<WinrmDouble> {
  const keytab = kdc.hostKeytabs[host];
  assert.ok(keytab !== undefined, `the test KDC has no keytab for ${host}`);
  const dir = mkdtempSync(join(tmpdir(), 'bastion-winrm-'));
  const sandbox = join(dir, 'sandbox');
  const rcache = join(dir, 'rcache');
  mkdirSync(sandbox);
  mkdirSync(rcache);
  const logFile = join(dir, 'requests.jsonl');
  const child = spawn(DEBIAN_PYTHON, [SERVER, host, sandbox, logFile], {
    env: acceptorEnv(kdc, keytab, rcache),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.set(child, dir);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 8192) stderr += c.toString();
  });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        running.delete(child);
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    });

  // Its first stdout line names the port it bound (an ephemeral one on 127.0.0.1).
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`the WinRM double said: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`the WinRM double exited (${code}): ${stderr}`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  if (!(await connects({ host: '127.0.0.1', port }))) {
    await stop();
    throw new Error(`the WinRM double does not accept connections on ${port}: ${stderr}`);
  }

  const lines = (): Record<string, unknown>[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  return {
    endpoint: `http://127.0.0.1:${port}/wsman`,
    port,
    host,
    sandbox,
    requests: () => lines().filter((l) => 'status' in l) as unknown as WinrmRequest[],
    scripts: () =>
      lines().filter((l) => 'powershell' in l) as unknown as {
        powershell: string;
        principal: string;
      }[],
    stop,
  };
}
