/** `bastion serve` (the built CLI) as a child process, as an operator runs it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export const MAIN = join(repoRoot, 'dist/cli/main.js');

export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('child did not start')), 20_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = pattern.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', () => reject(new Error('child exited')));
  });
}

export interface ChildBroker {
  child: ChildProcess;
  url: string;
  logs(): string;
  /** Resolves when a log line (stderr) written from now on matches `pattern`. */
  nextLog(pattern: RegExp): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnBroker(
  configFile: string,
  options: { env?: Record<string, string>; cwd?: string; nodeArgs?: string[] } = {},
): Promise<ChildBroker> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), MAIN, 'serve', '--config', configFile],
    {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let logs = '';
  child.stderr?.on('data', (c: Buffer) => (logs += c.toString()));
  const url = await waitForLine(child, /bastion listening on (http:\/\/\S+)/);
  return {
    child,
    url,
    logs: () => logs,
    nextLog: (pattern) =>
      new Promise((resolve, reject) => {
        let seen = '';
        const onData = (c: Buffer): void => {
          seen += c.toString();
          const line = seen.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return;
          child.stderr?.off('data', onData);
          resolve(line);
        };
        child.stderr?.on('data', onData);
        child.once('exit', () => reject(new Error('child exited')));
      }),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
