/**
 * How an operation becomes a WinRS CommandLine. Windows hands a program one command-line
 * string, which the program splits itself; an argv is therefore quoted by the rules of
 * CommandLineToArgvW (what the C runtime and .NET use) and run without cmd.exe
 * (WINRS_SKIP_CMD_SHELL), so `&`, `|` or `%` in an argument stay literal. A `command` is a
 * line for cmd.exe, as `command` is a line for the login shell over SSH. PowerShell is run
 * with its script as -EncodedCommand (UTF-16LE, base64), so no quoting reaches the script.
 */
import { BastionError } from '../../base/errors.js';

export interface ShellCommand {
  /** `rsp:Command`: the program (or, through cmd.exe, the whole line). */
  readonly command: string;
  /** `rsp:Arguments`: the rest of the line, quoted for the program's parser. */
  readonly args?: string;
  /** Run the program directly, without cmd.exe. */
  readonly skipCmdShell: boolean;
}

/** One argument quoted so that CommandLineToArgvW gives it back unchanged. */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes += 1;
      continue;
    }
    // Backslashes are literal unless a quote follows: then each is doubled, and the quote escaped.
    out += ch === '"' ? '\\'.repeat(backslashes * 2 + 1) + '"' : '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  return out + '\\'.repeat(backslashes * 2) + '"';
}

/** The program name: quoted when it has spaces; a quote in it cannot be expressed. */
function quoteProgram(program: string): string {
  if (program.includes('"')) throw new BastionError('winrm_text_unencodable');
  return /\s/.test(program) ? `"${program}"` : program;
}

/** PowerShell's -EncodedCommand: the script as UTF-16LE, base64. */
export function encodePowerShell(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** The operation (exactly one of argv, command, powershell; checked by operation.ts) as a CommandLine. */
export function shellCommandOf(op: {
  readonly argv?: readonly string[] | undefined;
  readonly command?: string | undefined;
  readonly powershell?: string | undefined;
}): ShellCommand {
  if (op.powershell !== undefined) {
    return {
      command: 'powershell',
      args: `-NoProfile -NonInteractive -EncodedCommand ${encodePowerShell(op.powershell)}`,
      skipCmdShell: true,
    };
  }
  if (op.argv !== undefined) {
    const [program, ...rest] = op.argv;
    if (program === undefined || program === '')
      throw new BastionError('winrm_operation_ambiguous');
    return {
      command: quoteProgram(program),
      args: rest.map(quoteWindowsArg).join(' '),
      skipCmdShell: true,
    };
  }
  if (op.command !== undefined) return { command: op.command, skipCmdShell: false };
  throw new BastionError('winrm_operation_ambiguous');
}
