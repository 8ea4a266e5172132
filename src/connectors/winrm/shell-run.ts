/**
 * One command through a WinRS shell, transport-agnostic: Create → Command → Receive until
 * Done → Delete, over a `send` that carries an envelope and returns the reply (the later
 * transport adds SPNEGO and message encryption). Output is bounded per stream as the SSH
 * connector bounds it; past the deadline, or when the caller aborts, the command gets
 * Signal terminate; the shell is always deleted, on every path, best effort.
 */
import { deadline } from '../../base/deadline.js';
import { BoundedSink } from '../../transports/ssh/bounded-sink.js';
import type { ExecResult } from '../../transports/types.js';
import { shellCommandOf } from './command-line.js';
import {
  commandEnvelope,
  createShellEnvelope,
  deleteShellEnvelope,
  receiveEnvelope,
  signalEnvelope,
  type EnvelopeOptions,
} from './wsman.js';
import {
  WinRmFaultError,
  parseCommandReply,
  parseCreateReply,
  parseReceiveReply,
} from './wsman-reply.js';

/**
 * Sends one envelope and resolves with the reply's body (a SOAP fault included, whatever
 * the HTTP status); rejects when `signal` aborts or the transport fails.
 */
export type SendEnvelope = (envelope: string, signal: AbortSignal) => Promise<string>;

export interface RunCommandOptions {
  /** The listener's URL (`wsa:To`). */
  readonly to: string;
  /** Wall time of the whole run, from Create; past it the command is terminated. */
  readonly timeoutMs: number;
  /** The caller's abort (the invocation's signal): handled like the deadline. */
  readonly signal?: AbortSignal | undefined;
  /** Bytes kept per stream; the rest is dropped and `*_truncated` set. */
  readonly maxOutputBytes: number;
  /** Receive's long poll (`wsman:OperationTimeout`); default 20 s. */
  readonly receiveTimeoutSeconds?: number;
  /** Time left for Signal and Delete after the deadline; default 10 s. */
  readonly cleanupMs?: number;
  readonly workingDirectory?: string | undefined;
}

export type ShellOperation = {
  readonly argv?: readonly string[] | undefined;
  readonly command?: string | undefined;
  readonly powershell?: string | undefined;
};

/**
 * Runs `operation` and returns its output and exit code. On the deadline or an abort the
 * result has `timed_out: true`, `exit_code: null` (and `signal: 'terminate'` once the
 * command had started); a fault or a malformed reply throws its catalog error after the
 * shell is deleted. Once both streams are over their limit the command is terminated too.
 */
export async function runCommand(
  send: SendEnvelope,
  operation: ShellOperation,
  options: RunCommandOptions,
): Promise<ExecResult> {
  const t0 = performance.now();
  const shellCommand = shellCommandOf(operation);
  const stdout = new BoundedSink(options.maxOutputBytes);
  const stderr = new BoundedSink(options.maxOutputBytes);
  const result = (fields: Pick<ExecResult, 'exit_code' | 'timed_out' | 'signal'>): ExecResult => ({
    ...fields,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdout_truncated: stdout.full,
    stderr_truncated: stderr.full,
    duration_ms: Math.round(performance.now() - t0),
  });
  if (options.signal?.aborted === true) return result({ exit_code: null, timed_out: true });

  const envelopeOptions = (timeout: number): EnvelopeOptions => ({
    to: options.to,
    operationTimeoutSeconds: timeout,
  });
  const shortOptions = envelopeOptions(Math.max(1, Math.ceil(options.timeoutMs / 1000)));
  const limit = deadline(options.timeoutMs, options.signal);
  let shellId: string | undefined;
  let commandId: string | undefined;
  let done = false;
  const call = async (envelope: string): Promise<string> => {
    limit.signal.throwIfAborted();
    return send(envelope, limit.signal);
  };
  try {
    try {
      shellId = parseCreateReply(
        await call(
          createShellEnvelope(
            shortOptions,
            options.workingDirectory !== undefined
              ? { workingDirectory: options.workingDirectory }
              : {},
          ),
        ),
      );
      commandId = parseCommandReply(
        await call(commandEnvelope(shortOptions, shellId, shellCommand)),
      );
      const receive = receiveEnvelope(
        envelopeOptions(options.receiveTimeoutSeconds ?? 20),
        shellId,
        commandId,
      );
      let exitCode: number | null = null;
      while (!done) {
        let received;
        try {
          received = parseReceiveReply(await call(receive), commandId);
        } catch (err) {
          // The long poll ended with nothing new: ask again.
          if (err instanceof WinRmFaultError && err.timedOut) continue;
          throw err;
        }
        for (const chunk of received.chunks)
          (chunk.stream === 'stdout' ? stdout : stderr).push(chunk.bytes);
        done = received.done;
        if (done) exitCode = received.exitCode ?? null;
        // Nothing more would be kept: stop the command rather than count its output.
        else if (stdout.full && stderr.full)
          return result({ exit_code: null, timed_out: false, signal: 'terminate' });
      }
      return result({ exit_code: exitCode, timed_out: false });
    } catch (err) {
      // A send that failed because the deadline or the caller ended it is a timeout, not an error.
      if (!limit.signal.aborted) throw err;
      return result({
        exit_code: null,
        timed_out: true,
        ...(commandId !== undefined ? { signal: 'terminate' } : {}),
      });
    }
  } finally {
    limit.clear();
    if (shellId !== undefined)
      await cleanUp(
        send,
        shortOptions,
        shellId,
        done ? undefined : commandId,
        options.cleanupMs ?? 10_000,
      );
  }
}

/** Signal terminate (a command still running) and Delete the shell, each best effort. */
async function cleanUp(
  send: SendEnvelope,
  opts: EnvelopeOptions,
  shellId: string,
  runningCommandId: string | undefined,
  cleanupMs: number,
): Promise<void> {
  const budget = deadline(cleanupMs);
  try {
    if (runningCommandId !== undefined) {
      await send(signalEnvelope(opts, shellId, runningCommandId, 'terminate'), budget.signal).catch(
        () => undefined,
      );
    }
    await send(deleteShellEnvelope(opts, shellId), budget.signal).catch(() => undefined);
  } finally {
    budget.clear();
  }
}
