/**
 * A real GSS-API acceptor for the initiator's tests: test/peers/gss-acceptor/acceptor.py,
 * the WinRM double's own acceptor code (MIT krb5 via Debian's python3-gssapi) with a host's
 * keytab from the test KDC, driven by JSON lines. Also the test-only way to a real service
 * ticket: kinit + kvno into a ccache in the KDC's temporary directory, read by ccache.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ticketFor, type CachedCredential } from './ccache.js';
import { mitEnv, runTool } from './kdc-cli.js';
import { path } from './kdc-files.js';
import type { Kdc, KdcUser } from './kdc.js';
import { repoRoot } from './paths.js';
import { acceptorEnv, DEBIAN_PYTHON } from './winrm-double.js';

const SCRIPT = join(repoRoot, 'test', 'peers', 'gss-acceptor', 'acceptor.py');

export interface GssAcceptor {
  /** One request, its answer (base64 fields as the script documents). */
  call(request: Record<string, string>): Promise<Record<string, string>>;
  stop(): void;
}

/**
 * Starts the acceptor with `host`'s keytab; for `principal` alone when given (MIT then
 * refuses a ticket to another service of the same keytab), else for any of its principals.
 */
export function startGssAcceptor(
  kdc: Kdc,
  host = 'win1.bastion.test',
  principal?: string,
): GssAcceptor {
  const keytab = kdc.hostKeytabs[host];
  assert.ok(keytab !== undefined);
  const rcache = mkdtempSync(join(kdc.dir, 'rcache-'));
  const child = spawn(DEBIAN_PYTHON, [SCRIPT], {
    env: {
      ...acceptorEnv(kdc, keytab, rcache),
      ...(principal !== undefined ? { GSS_ACCEPTOR_PRINCIPAL: principal } : {}),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  return {
    call(request) {
      return new Promise((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as Record<string, string>));
        child.stdin.write(JSON.stringify(request) + '\n');
      });
    },
    stop() {
      child.stdin.end();
    },
  };
}

/**
 * TEST-ONLY: `user`'s real service ticket to `spn` (kinit with the password, then kvno),
 * its session key of `enctype` (an MIT name) when given.
 */
export async function serviceTicket(
  kdc: Kdc,
  user: KdcUser,
  spn: string,
  enctype?: string,
): Promise<CachedCredential> {
  const ccache = join(mkdtempSync(join(kdc.dir, 'cc-')), 'ccache');
  const env = mitEnv(kdc, ccache);
  const k = await runTool(path('kinit'), [user.principal], env, user.password);
  assert.equal(k.code, 0, k.stderr);
  const v = await runTool(path('kvno'), [...(enctype ? ['-e', enctype] : []), spn], env);
  assert.equal(v.code, 0, v.stderr);
  return ticketFor(ccache, spn);
}

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const unb64 = (text: string | undefined): Buffer => Buffer.from(text ?? '', 'base64');
