/**
 * MIT Kerberos' own client tools (kinit, kvno, klist) against the test KDC: the client of
 * the peer self-test (test/peers/kdc.test.ts) and the raw `kvno -U` baseline of the
 * benchmark. Their ccaches are FILE: caches in the KDC's temporary directory — test-only
 * files, never the broker's way (the backend keeps tickets in memory). Also the one way to
 * skew a client's clock with these tools: the time offset in a ccache's header.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { path } from './kdc-files.js';

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What the tools need to reach the test KDC. */
export interface KdcClientConfig {
  readonly krb5ConfPath: string;
}

/**
 * The tools' environment: the test realm's krb5.conf only (never /etc/krb5.conf), the given
 * ccache, no default keytab, C locale and UTC so klist's dates parse.
 */
export function mitEnv(kdc: KdcClientConfig, ccache?: string): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    KRB5_CONFIG: kdc.krb5ConfPath,
    KRB5CCNAME: ccache === undefined ? 'MEMORY:none' : `FILE:${ccache}`,
    KRB5_KTNAME: 'FILE:/nonexistent',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

/** Runs a tool to its end; `input` on stdin. Never throws on a non-zero exit: tests read it. */
export function runTool(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  input = '',
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env,
      stdio: [input === '' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    // A tool that exits before reading all of its input answers for itself through `code`.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/** `kinit -k -t KEYTAB PRINCIPAL` into `ccache`: a service's TGT from its keytab. */
export function kinitKeytab(
  kdc: KdcClientConfig,
  who: { readonly principal: string; readonly keytab: string },
  ccache: string,
): Promise<ToolResult> {
  return runTool(path('kinit'), ['-k', '-t', who.keytab, who.principal], mitEnv(kdc, ccache));
}

/**
 * `kvno -U USER [-P] --out-cache FILE:OUT SPN` with the service TGT in `ccache`: S4U2Self
 * for USER to the service itself (`spn` is then the service's own name), or with `proxy`
 * S4U2Self then S4U2Proxy to `spn`; the resulting ticket lands in `outCache`.
 */
export function kvnoForUser(
  kdc: KdcClientConfig,
  request: {
    readonly ccache: string;
    readonly user: string;
    readonly spn: string;
    readonly outCache: string;
    readonly proxy: boolean;
  },
): Promise<ToolResult> {
  const args = ['-U', request.user, ...(request.proxy ? ['-P'] : [])];
  args.push('--out-cache', `FILE:${request.outCache}`, request.spn);
  return runTool(path('kvno'), args, mitEnv(kdc, request.ccache));
}

export interface CachedTicket {
  readonly server: string;
  readonly start: Date;
  readonly expires: Date;
  /** klist's letters: F forwardable, f forwarded, P proxiable, T transit-checked, … */
  readonly flags: string;
}

export interface CacheListing {
  readonly principal: string;
  readonly tickets: readonly CachedTicket[];
}

/** klist's `MM/DD/YY HH:MM:SS` (C locale, UTC). */
function klistDate(text: string): Date {
  const m = /^(\d\d)\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(text);
  if (!m) throw new Error(`klist date not understood: ${text}`);
  const [mo, d, y, h, mi, s] = m.slice(1).map(Number) as [number, ...number[]];
  return new Date(Date.UTC(2000 + (y ?? 0), mo - 1, d, h, mi, s));
}

/** `klist -f -c FILE:ccache`, parsed; throws when klist fails. */
export async function listCache(kdc: KdcClientConfig, ccache: string): Promise<CacheListing> {
  const r = await runTool(path('klist'), ['-f', '-c', `FILE:${ccache}`], mitEnv(kdc));
  if (r.code !== 0) throw new Error(`klist failed: ${r.stderr}`);
  const principal = /^Default principal: (\S+)$/m.exec(r.stdout)?.[1] ?? '';
  const tickets: CachedTicket[] = [];
  const lines = r.stdout.split('\n');
  lines.forEach((line, i) => {
    const m =
      /^(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)\s+(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)\s+(\S+)$/.exec(line);
    if (!m) return;
    const flags = /^\s+Flags: (\S*)/.exec(lines[i + 1] ?? '')?.[1] ?? '';
    tickets.push({
      start: klistDate(m[1] ?? ''),
      expires: klistDate(m[2] ?? ''),
      server: m[3] ?? '',
      flags,
    });
  });
  return { principal, tickets };
}

/**
 * Sets the time offset in a FILE ccache's header (format 4, tag 1 "DeltaTime"): with
 * `kdc_timesync`, every tool using that cache then believes the time is now + `seconds`,
 * as a client with a skewed clock would. MIT's tools have no flag for this.
 */
export function skewCcacheClock(ccache: string, seconds: number): void {
  const file = readFileSync(ccache);
  if (file.readUInt16BE(0) !== 0x0504) throw new Error('not a format-4 ccache');
  const rest = file.subarray(4 + file.readUInt16BE(2));
  const header = Buffer.alloc(4 + 12);
  header.writeUInt16BE(0x0504, 0);
  header.writeUInt16BE(12, 2);
  header.writeUInt16BE(1, 4); // tag: DeltaTime
  header.writeUInt16BE(8, 6);
  header.writeInt32BE(seconds, 8);
  header.writeInt32BE(0, 12); // microseconds
  writeFileSync(ccache, Buffer.concat([header, rest]));
}
