/** Argument parsing for CLI commands: node's parseArgs, with errors that never quote input. */
import { InvalidArgumentError } from '../base/errors.js';

/**
 * Runs node's `parseArgs` (strict) and turns its errors into ours: its messages quote the
 * offending input, ours do not. Extra positionals are refused.
 */
export function parseCommandArgs<T extends { positionals: string[] }>(
  parse: () => T,
  positionals = 0,
): T {
  let parsed: T;
  try {
    parsed = parse();
  } catch {
    throw new InvalidArgumentError('options (see bastion help)');
  }
  if (parsed.positionals.length > positionals)
    throw new InvalidArgumentError('arguments (see bastion help)');
  return parsed;
}

/** A required string option; `name` is the option's name, never its value. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '')
    throw new InvalidArgumentError(`${name} (it is required)`);
  return value;
}

/** Writes JSON or a few human lines to stdout. */
export function output(json: boolean, value: unknown, lines: () => string[]): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : lines().join('\n') + '\n');
}
