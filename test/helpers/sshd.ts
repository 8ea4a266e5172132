/**
 * A real OpenSSH sshd per test file, through test/peers/sshd.sh: certificate auth only, on a
 * free 127.0.0.1 port, in a fresh temporary directory that `stop()` removes. As root (CI) it
 * logs in `root`; otherwise it runs as, and logs in, the current user (`SSHD_USER`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';
import { freePort } from '../../src/base/free-port.js';

const SSHD = '/usr/sbin/sshd';
const SCRIPT = join(repoRoot, 'test/peers/sshd.sh');
const run = promisify(execFile);

/** The unix user tests log in as. */
export const SSHD_USER = process.getuid?.() === 0 ? 'root' : userInfo().username;

export interface Sshd {
  port: number;
  /** `ssh-ed25519 AAAA…` */
  hostKeyLine: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…` plus a newline. */
  knownHostsText: string;
  user: string;
  /** The TrustedUserCAKeys file. */
  caFile: string;
  /** Replaces the CA lines; sshd re-reads the file on every auth. */
  setCaKeys(lines: string[]): void;
  /** sshd's log so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function startSshd(options: {
  caPublicKeys: string[];
  /** Unix user → the certificate principals sshd accepts for it. */
  principals: Record<string, string[]>;
}): Promise<Sshd> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: install the Debian package openssh-server ` +
        '(apt-get install -y --no-install-recommends openssh-server; scripts/test-all.sh does)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'bastion-sshd-'));
  const caFile = join(dir, 'ca.pub');
  const setCaKeys = (lines: string[]): void =>
    writeFileSync(caFile, lines.map((l) => l.trim() + '\n').join(''));
  setCaKeys(options.caPublicKeys);
  mkdirSync(join(dir, 'principals'));
  for (const [user, principals] of Object.entries(options.principals)) {
    writeFileSync(join(dir, 'principals', user), principals.map((p) => p + '\n').join(''));
  }

  // The free port may be taken between the probe and sshd's bind: try a few.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await run('bash', [SCRIPT, 'start'], {
        env: { ...process.env, W: dir, SSH_PORT: String(port) },
        timeout: 120_000,
      });
      break;
    } catch (err) {
      if (attempt === 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const [type, blob] = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/);
  const hostKeyLine = `${type} ${blob}`;
  return {
    port,
    hostKeyLine,
    knownHostsText: `[127.0.0.1]:${port} ${hostKeyLine}\n`,
    user: SSHD_USER,
    caFile,
    setCaKeys,
    log: () => {
      try {
        return readFileSync(join(dir, 'sshd.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop: async () => {
      try {
        await run('bash', [SCRIPT, 'stop'], { env: { ...process.env, W: dir }, timeout: 30_000 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
