import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

const MAIN = join(repoRoot, 'dist/cli/main.js');

/** Runs the built `bastion` CLI (dist/) in a child process, as a user would. */
export function bastion(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking: for a CLI that talks to a broker running in this process. */
export function bastionAsync(
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { timeout: 60_000, ...(env === undefined ? {} : { env }) };
    execFile(process.execPath, [MAIN, ...args], options, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({
        status: err === null ? 0 : typeof code === 'number' ? code : null,
        stdout,
        stderr,
      });
    });
  });
}
