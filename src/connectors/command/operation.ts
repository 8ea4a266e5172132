/**
 * The operation of the command-running connectors (ssh, bascule): `{argv: [...]}` or, where
 * a shell runs it, `{command: "..."}`, with optional stdin; and the result they return.
 * Bounds are generous but finite, and declared here only: the route, OpenAPI, the MCP tool
 * and the CLI all read them from these schemas.
 */
import { z } from 'zod';
import { parseOrThrow } from '../../base/zod-issues.js';
import type { CommandOperation, ExecResult } from '../../transports/types.js';
import { InvocationDeniedError } from '../../governance/denials.js';
import type { OperationSpec } from '../operation.js';

export const MAX_ARGS = 256;
export const MAX_ARG = 4096;
export const MAX_COMMAND = 8192;
export const MAX_STDIN_BYTES = 64 * 1024;

const noNul = (v: string): boolean => !v.includes('\0');

const stdin = z
  .string()
  .max(MAX_STDIN_BYTES)
  .refine((v) => Buffer.byteLength(v) <= MAX_STDIN_BYTES, { error: 'too long' })
  .describe(
    "Text for the command's standard input (UTF-8, at most 64 KiB; the request body as a whole is bounded by limits.body_bytes, 128 KiB by default)",
  );

export const argvOperation = z.strictObject({
  argv: z
    .array(z.string().max(MAX_ARG).refine(noNul, { error: 'NUL byte' }))
    .min(1)
    .max(MAX_ARGS)
    .refine((argv) => argv[0] !== '', { error: 'empty command' })
    .describe(
      'The program and its arguments, one element each, e.g. ["systemctl", "status", "nginx"]. ' +
        'No empty elements and no leading, trailing or doubled spaces inside one.',
    ),
  stdin: stdin.optional(),
});

export const commandLineOperation = z.strictObject({
  command: z
    .string()
    .min(1)
    .max(MAX_COMMAND)
    .refine((v) => v.trim() !== '' && noNul(v), { error: 'empty or NUL byte' })
    .describe(
      'A command line for the login shell. Under a command policy it must hold no shell ' +
        'syntax (pipes, ;, &&, redirections, $(...), quotes): prefer argv.',
    ),
  stdin: stdin.optional(),
});

export const execResult = z.object({
  exit_code: z.int().nullable(),
  signal: z.string().optional(),
  stdout: z.string(),
  stderr: z.string(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  timed_out: z.boolean(),
  duration_ms: z.int(),
});

// The schemas and the transports' types describe one thing: keep them in step.
const _typesAgree: [z.output<typeof execResult>] extends [ExecResult] ? true : never = true;
void _typesAgree;

/** The operation of a connector that runs an argv, or also a command line through a shell. */
function commandOperationSpec(options: { allowCommand: boolean }): OperationSpec {
  return options.allowCommand
    ? {
        schema: z.union([argvOperation, commandLineOperation]),
        result: execResult,
        summary: '{argv: [...]} (preferred) or {command: "..."}, optional stdin',
        cli: { rest: 'argv' },
      }
    : {
        schema: argvOperation,
        result: execResult,
        summary: '{argv: [...]} only (run without a shell), optional stdin',
        cli: { rest: 'argv' },
      };
}

/** ssh: an argv, or a command line for the login shell. */
export const ARGV_OR_COMMAND = commandOperationSpec({ allowCommand: true });
/** bascule: an argv only, run without a shell. */
export const ARGV_ONLY = commandOperationSpec({ allowCommand: false });

export function parseCommandOperation(
  raw: unknown,
  options: { allowCommand: boolean },
): CommandOperation {
  const spec = options.allowCommand ? ARGV_OR_COMMAND : ARGV_ONLY;
  return parseOrThrow(spec.schema, raw, 'operation') as CommandOperation;
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
