/**
 * The operation of the WinRM connector, declared once for its plugin: an argv run
 * without cmd.exe, a cmd.exe command line, or a PowerShell script — exactly one — with an
 * optional timeout; the result is the command connectors' (ssh, bascule). The target is
 * the invocation's `target`, beside the operation, as for every connector.
 */
import { z } from 'zod';
import { BastionError } from '../../base/errors.js';
import { parseOrThrow } from '../../base/zod-issues.js';
import { argvOperation, commandLineOperation, execResult } from '../command/operation.js';
import type { OperationSpec } from '../operation.js';

/** A script's UTF-16 base64 (-EncodedCommand) must fit Windows' 32767-character command line. */
export const MAX_SCRIPT = 8192;
export const MAX_TIMEOUT_SECONDS = 300;

const noNul = (v: string): boolean => !v.includes('\0');
const timeout = z
  .int()
  .min(1)
  .max(MAX_TIMEOUT_SECONDS)
  .describe('Seconds before the command is terminated (at most the invocation limit)');

// The bounds of the other command connectors' argv and command line, described for Windows.
const argv = z.strictObject({
  argv: argvOperation.shape.argv.describe(
    'The program and its arguments, run without cmd.exe, e.g. ["whoami", "/groups"]',
  ),
  timeout: timeout.optional(),
});

const command = z.strictObject({
  command: commandLineOperation.shape.command.describe('A command line for cmd.exe: prefer argv'),
  timeout: timeout.optional(),
});

const powershell = z.strictObject({
  powershell: z
    .string()
    .min(1)
    .max(MAX_SCRIPT)
    .refine((v) => v.trim() !== '' && noNul(v), { error: 'empty or NUL byte' })
    .describe(
      'A PowerShell script, run with -EncodedCommand. Under a command policy each command it ' +
        'invokes is checked, and scripts that cannot be checked statically are refused',
    ),
  timeout: timeout.optional(),
});

export const WINRM_OPERATION: OperationSpec = {
  schema: z.union([argv, command, powershell]),
  result: execResult,
  summary: '{argv: [...]} (preferred), {command: "..."} or {powershell: "..."}, optional timeout',
  cli: { rest: 'argv' },
};

export type WinRmOperation =
  z.output<typeof argv> | z.output<typeof command> | z.output<typeof powershell>;

/** Reads an operation: exactly one of argv, command, powershell (`winrm_operation_ambiguous`), then its schema. */
export function parseWinRmOperation(raw: unknown): WinRmOperation {
  if (typeof raw === 'object' && raw !== null) {
    const given = ['argv', 'command', 'powershell'].filter((k) => k in raw);
    if (given.length !== 1) throw new BastionError('winrm_operation_ambiguous');
  }
  return parseOrThrow(WINRM_OPERATION.schema, raw, 'operation') as WinRmOperation;
}
