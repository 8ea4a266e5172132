/**
 * `bastion serve` (the built CLI) as a child process, as an operator runs it; probed for
 * the zero-credential proof when asked (test/helpers/probe.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { Probe, PROBE_KEYS_ENV, PROBE_PRELOAD, PROBE_STDIO } from './probe.js';

export const MAIN = join(repoRoot, 'dist/cli/main.js');

/**
 * Writes `dir/bastion.yaml` (and `dir/known_hosts`): data in `dir/data`, the dev backend,
 * and one accord, `ssh-ops`, letting `principal` exec on 127.0.0.1 (the sshd at `sshdPort`)
 * as `login`. Returns the file's path.
 */
export function writeSshBrokerConfig(
  dir: string,
  o: { sshdPort: number; knownHosts: string; principal: string; login: string; admin?: boolean },
): string {
  writeFileSync(join(dir, 'known_hosts'), o.knownHosts);
  const file = join(dir, 'bastion.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: warn
${o.admin === true ? `admins: [${o.principal}]\n` : ''}connectors: { ssh: { known_hosts: ${join(dir, 'known_hosts')}, hosts: { "127.0.0.1": { port: ${o.sshdPort} } } } }
backends:
  - kind: dev
accords:
  - id: ssh-ops
    principals: [${o.principal}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ${o.login}
`,
  );
  return file;
}

/** The authorize request for writeSshBrokerConfig's accord. */
export const SSH_OPS_REQUEST = {
  accord: 'ssh-ops',
  connector: 'ssh',
  target: '127.0.0.1',
  capabilities: ['exec'],
  duration_seconds: 300,
};

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
  /** With `probe: true`: the keys it issued, and heap snapshots. */
  probe: Probe | undefined;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnBroker(
  configFile: string,
  options: {
    env?: Record<string, string>;
    cwd?: string;
    nodeArgs?: string[];
    /** Load the probe: report each SSH key the dev backend issues; take heap snapshots. */
    probe?: boolean;
  } = {},
): Promise<ChildBroker> {
  const probed = options.probe === true;
  const child = spawn(
    process.execPath,
    [
      ...(probed ? ['--import', PROBE_PRELOAD] : []),
      ...(options.nodeArgs ?? []),
      MAIN,
      'serve',
      '--config',
      configFile,
    ],
    {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      env: { ...process.env, ...options.env, ...(probed ? { [PROBE_KEYS_ENV]: '1' } : {}) },
      stdio: probed ? PROBE_STDIO : ['ignore', 'pipe', 'pipe'],
    },
  );
  const probe = probed ? new Probe(child) : undefined;
  let logs = '';
  child.stderr?.on('data', (c: Buffer) => (logs += c.toString()));
  const url = await waitForLine(child, /bastion listening on (https?:\/\/\S+)/);
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
    probe,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
