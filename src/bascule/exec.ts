/**
 * Running one argv on the Bascule host: no shell, an environment built from nothing, output
 * bounded per stream and a wall-time limit that kills the whole process group.
 *
 * The command gets `PATH`, `LANG=C.UTF-8` and `HOME` (its working directory) and nothing
 * else, so no `LD_PRELOAD`, `LD_*`, `DYLD_*`, `NODE_OPTIONS` or secret of the runtime's own
 * environment can reach it. It runs in a new process group (`detached`), so the timeout, an
 * abort or the command's own exit can take its background children down with it.
 *
 * A command that cannot be found (ENOENT from exec) is the error `bascule_command_not_found`
 * (404), one that cannot be started otherwise (EACCES, ENOEXEC…) `bascule_exec_failed` (500);
 * an argv that is empty, has an empty argv[0] or a NUL byte is `bascule_argv_invalid` (400).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { BastionError } from '../base/errors.js';
import type { ExecLimits, ExecResult } from '../transports/types.js';

export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
/** Where a command runs when no directory is configured: owned by no one in particular. */
export const DEFAULT_CWD = '/';

/**
 * After the command's own process exits, how long its output pipes may stay open (held by
 * a child that escaped the process group) before they are cut and the result returned.
 */
const PIPE_GRACE_MS = 500;

export type ExecErrorCode =
  'bascule_argv_invalid' | 'bascule_command_not_found' | 'bascule_exec_failed';

export class BasculeExecError extends BastionError {
  declare readonly code: ExecErrorCode;

  constructor(code: ExecErrorCode, options?: { cause?: unknown }) {
    super(code, options);
  }
}

/** True when `argv` can be handed to exec as is: non-empty, a non-empty argv[0], no NUL. */
export function isValidArgv(argv: readonly unknown[]): argv is readonly string[] {
  return (
    argv.length > 0 &&
    argv.every((arg) => typeof arg === 'string' && !arg.includes('\0')) &&
    argv[0] !== ''
  );
}

export interface RunArgvOptions {
  /** Bytes for the command's stdin; it sees EOF right away when absent. */
  readonly stdin?: Buffer | undefined;
  readonly limits: ExecLimits;
  /** Working directory and HOME; DEFAULT_CWD when absent. */
  readonly cwd?: string | undefined;
  /** The command's PATH (also where argv[0] is looked up); DEFAULT_PATH when absent. */
  readonly pathEnv?: string | undefined;
  /** Aborting kills the process group; the result then has `exit_code: null`. */
  readonly signal?: AbortSignal | undefined;
}

/** The whole environment a command sees: nothing is inherited. */
export function commandEnvironment(cwd: string, pathEnv: string): Record<string, string> {
  return { PATH: pathEnv, LANG: 'C.UTF-8', HOME: cwd };
}

/** The first `limit` bytes of a stream; the rest is read and dropped so the writer never blocks. */
class BoundedSink {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    const room = this.#limit - this.#kept;
    if (chunk.byteLength > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(part);
    this.#kept += part.byteLength;
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#kept).toString('utf8');
  }
}

/** SIGKILL to the whole group; a group already gone is not an error. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * Runs `argv` (no shell) and resolves with its result once it has ended and its output has
 * been read. Rejects only when the command cannot be started (BasculeExecError).
 */
export function runArgv(argv: readonly string[], options: RunArgvOptions): Promise<ExecResult> {
  if (!isValidArgv(argv)) return Promise.reject(new BasculeExecError('bascule_argv_invalid'));
  const { limits } = options;
  const cwd = options.cwd ?? DEFAULT_CWD;
  const env = commandEnvironment(cwd, options.pathEnv ?? DEFAULT_PATH);
  const [command = '', ...args] = argv;
  const started = performance.now();

  return new Promise<ExecResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        shell: false,
        env,
        cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        windowsHide: true,
      });
    } catch (err) {
      reject(new BasculeExecError('bascule_exec_failed', { cause: err }));
      return;
    }

    const stdout = new BoundedSink(limits.maxOutputBytes);
    const stderr = new BoundedSink(limits.maxOutputBytes);
    let timedOut = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const cleanup = (): void => {
      clearTimeout(wallTimer);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    const finish = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      // Whatever still holds the pipes open is cut off: the result is what was read.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        exit_code: timedOut ? null : exitCode,
        ...(exitSignal !== null ? { signal: exitSignal } : {}),
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdout_truncated: stdout.truncated,
        stderr_truncated: stderr.truncated,
        timed_out: timedOut,
        duration_ms: Math.round(performance.now() - started),
      });
    };

    const onAbort = (): void => {
      killGroup(child);
      graceTimer ??= setTimeout(finish, PIPE_GRACE_MS);
    };

    const wallTimer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
      graceTimer ??= setTimeout(finish, PIPE_GRACE_MS);
    }, limits.timeoutMs);

    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A command that does not read its stdin closes the pipe under us (EPIPE): not an error.
    child.stdin?.on('error', () => undefined);
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);

    child.once('error', (err: NodeJS.ErrnoException) => {
      // Only a failed start reaches here before 'exit'; later errors (a failed kill) do not
      // change what happened to the command.
      if (settled || child.pid !== undefined) return;
      settled = true;
      cleanup();
      const code = err.code === 'ENOENT' ? 'bascule_command_not_found' : 'bascule_exec_failed';
      reject(new BasculeExecError(code, { cause: err }));
    });

    child.once('exit', (code, signal) => {
      // The command has ended on its own (or by the kill): the wall clock no longer runs.
      clearTimeout(wallTimer);
      exitCode = code;
      exitSignal = signal;
      // A governed command leaves nothing behind: whatever it started in its group goes too.
      killGroup(child);
      graceTimer ??= setTimeout(finish, PIPE_GRACE_MS);
    });
    child.once('close', finish);

    if (options.signal?.aborted === true) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    if (options.stdin !== undefined && options.stdin.byteLength > 0)
      child.stdin?.end(options.stdin);
    else child.stdin?.end();
  });
}
