import { spawnSync } from 'node:child_process';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a real tool with `input` on stdin (never a temp file); UTC so times read plainly.
 * Node hands children a socket as stdin, which `/dev/stdin` cannot open: `cat |` makes it
 * a pipe.
 */
export function run(cmd: string, args: string[], input?: string | Buffer): RunResult {
  const r = spawnSync('sh', ['-c', 'cat | "$0" "$@"', cmd, ...args], {
    input: input ?? '',
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
