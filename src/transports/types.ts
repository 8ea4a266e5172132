/**
 * What every command-running transport (SSH, the Bascule runtime) returns, and the limits
 * it enforces. Output is bounded in bytes per stream and the run in wall time.
 */
export interface ExecLimits {
  /** Bytes kept per stream (stdout, stderr); the rest is dropped and `*_truncated` set. */
  readonly maxOutputBytes: number;
  /** Wall time before the command is killed and `timed_out` set. */
  readonly timeoutMs: number;
}

export const DEFAULT_EXEC_LIMITS: ExecLimits = { maxOutputBytes: 1024 * 1024, timeoutMs: 30_000 };

export interface ExecResult {
  /** Exit status; null when the command was killed by a signal or timed out. */
  exit_code: number | null;
  /** Signal name when the command was ended by one (e.g. after the timeout). */
  signal?: string | undefined;
  /** Output as UTF-8 text (invalid sequences replaced). */
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  timed_out: boolean;
  duration_ms: number;
}

/** An operation on a command-running connector: an argv (preferred) or a command line. */
export interface CommandOperation {
  readonly argv?: readonly string[] | undefined;
  readonly command?: string | undefined;
  /** Bytes for the command's stdin, as UTF-8 text. */
  readonly stdin?: string | undefined;
}

/** A run the deadline or the caller's abort ended before it started: a timeout, nothing ran. */
export function notStartedResult(t0: number): ExecResult {
  return {
    exit_code: null,
    stdout: '',
    stderr: '',
    stdout_truncated: false,
    stderr_truncated: false,
    timed_out: true,
    duration_ms: Math.round(performance.now() - t0),
  };
}
