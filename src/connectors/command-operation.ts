/**
 * Reading a command operation `{argv: [...]} | {command: "..."}` with optional stdin, shared
 * by the SSH and Bascule connectors. Bounds are generous but finite.
 */
import { InvalidArgumentError } from '../base/errors.js';
import { InvocationDeniedError } from './errors.js';
import type { CommandOperation, ExecResult } from '../transports/types.js';

const MAX_ARGS = 256;
const MAX_ARG = 4096;
const MAX_COMMAND = 8192;
const MAX_STDIN = 64 * 1024;

const isArg = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= MAX_ARG && !v.includes('\0');

export function parseCommandOperation(
  raw: unknown,
  options: { allowCommand: boolean },
): CommandOperation {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new InvalidArgumentError('operation');
  const { argv, command, stdin, ...rest } = raw as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new InvalidArgumentError('operation (unknown field)');
  if (stdin !== undefined && (typeof stdin !== 'string' || Buffer.byteLength(stdin) > MAX_STDIN)) {
    throw new InvalidArgumentError('operation.stdin');
  }
  if (argv !== undefined) {
    if (command !== undefined)
      throw new InvalidArgumentError('operation (argv or command, not both)');
    if (
      !Array.isArray(argv) ||
      argv.length === 0 ||
      argv.length > MAX_ARGS ||
      !argv.every(isArg) ||
      argv[0] === ''
    ) {
      throw new InvalidArgumentError('operation.argv');
    }
    return { argv, ...(stdin !== undefined ? { stdin } : {}) };
  }
  if (!options.allowCommand) throw new InvalidArgumentError('operation.argv (required)');
  if (
    typeof command !== 'string' ||
    command.trim() === '' ||
    command.length > MAX_COMMAND ||
    command.includes('\0')
  ) {
    throw new InvalidArgumentError('operation.command');
  }
  return { command, ...(stdin !== undefined ? { stdin } : {}) };
}

/**
 * What a command policy is matched against: the command line, or the argv joined by single
 * spaces. Joining is only unambiguous when no element is empty or carries leading,
 * trailing or repeated whitespace: `["rm", "", "-rf", "/x"]` would read as `rm  -rf /x`
 * and slip past a `rm -rf *` deny. Such an argv is refused under a policy (undefined).
 */
export function commandText(op: CommandOperation): string | undefined {
  if (op.command !== undefined) return op.command;
  const argv = op.argv ?? [];
  if (argv.some((arg) => arg === '' || /^\s|\s$|\s\s|[\t\r\n\v\f]/.test(arg))) return undefined;
  return argv.join(' ');
}

/**
 * The command line a connector reports for policy and audit. Under a command policy an
 * argv whose join would be ambiguous is refused; without one it is only recorded.
 */
export function policyCommandLine(
  op: CommandOperation,
  ac: { readonly commands?: unknown },
): string {
  const text = commandText(op);
  if (text !== undefined) return text;
  if (ac.commands !== undefined) throw new InvocationDeniedError('command_not_allowed');
  return (op.argv ?? []).join(' ');
}

/** What the audit keeps of a command's result: its status and sizes, never its output. */
export function execAuditDetail(result: ExecResult): Record<string, unknown> {
  return {
    exit_code: result.exit_code,
    timed_out: result.timed_out,
    stdout_bytes: Buffer.byteLength(result.stdout),
    stderr_bytes: Buffer.byteLength(result.stderr),
    truncated: result.stdout_truncated || result.stderr_truncated,
  };
}
