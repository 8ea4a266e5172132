/**
 * An argv as the one command line SSH can carry: the remote login shell parses it, so each
 * argument must reach the command as the same word it was here.
 */
import { InvalidArgumentError } from '../../base/errors.js';

/** Characters that never need quoting in a POSIX shell word. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * An argv as one POSIX shell command line: each argument single-quoted unless it is made of
 * safe characters only, `'` written as `'\''`. The remote login shell parses the command
 * line (sshd runs `$SHELL -c`), so this is right for sh, dash, bash, ksh and zsh, not for
 * csh or fish. NUL cannot travel in a command line and is refused, as is an empty argv.
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new InvalidArgumentError('argv');
  return argv
    .map((arg) => {
      if (arg.includes('\0')) throw new InvalidArgumentError('argv');
      if (SHELL_SAFE.test(arg)) return arg;
      return `'${arg.replaceAll("'", `'\\''`)}'`;
    })
    .join(' ');
}
