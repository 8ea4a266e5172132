/**
 * MIT Kerberos's own keytab tools (Debian `krb5-user`: `ktutil`, `klist`), run on files in
 * a private temporary directory with no krb5.conf, so nothing reaches a KDC.
 * `skipWithoutKtutil` skips a test file where they are missing, except in CI, where that
 * fails (scripts/debian-packages.sh installs them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENV = { ...process.env, KRB5_CONFIG: '/dev/null', TZ: 'UTC', LC_ALL: 'C' };

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function skipWithoutKtutil(): string | false {
  if (process.env['CI'] !== undefined) return false;
  return (
    !(onPath('ktutil') && onPath('klist')) &&
    'MIT ktutil/klist are not installed (Debian krb5-user; scripts/debian-packages.sh installs it)'
  );
}

export interface KtutilEntry {
  readonly principal: string;
  readonly kvno: number;
  readonly enctype: string;
  readonly password: string;
}

/** Writes a keytab with `ktutil addent -password` for each entry; returns its path. */
export function ktutilKeytab(entries: readonly KtutilEntry[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bastion-keytab-')), 'test.keytab');
  const script = entries
    .map((e) => `addent -password -p ${e.principal} -k ${e.kvno} -e ${e.enctype}\n${e.password}\n`)
    .join('');
  const r = spawnSync('ktutil', [], { input: `${script}wkt ${path}\nquit\n`, env: ENV });
  if (r.status !== 0) throw new Error(`ktutil failed: ${r.stderr.toString()}`);
  return path;
}

export interface KlistKey {
  readonly kvno: number;
  readonly principal: string;
  readonly enctype: string;
  readonly keyHex: string;
}

/** What `klist -kteK` reads from a keytab: kvno, principal, enctype and the key itself. */
export function klistKeys(path: string): KlistKey[] {
  const r = spawnSync('klist', ['-kteK', path], { env: ENV });
  if (r.status !== 0) throw new Error(`klist failed: ${r.stderr.toString()}`);
  const line = /^\s*(\d+)\s+\S+\s+\S+\s+(\S+)\s+\(([\w:-]+)\)\s+\(0x([0-9a-f]+)\)\s*$/;
  return r.stdout
    .toString()
    .split('\n')
    .flatMap((l) => {
      const m = line.exec(l);
      return m
        ? [{ kvno: Number(m[1]), principal: m[2] ?? '', enctype: m[3] ?? '', keyHex: m[4] ?? '' }]
        : [];
    });
}
