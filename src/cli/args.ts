/** Argument parsing for CLI commands: node's parseArgs, with errors that never quote input. */
import { InvalidArgumentError } from '../base/errors.js';

// A flag name as node's parseArgs reports it. Our flags are short lowercase words: anything
// with a digit or a capital is more likely a pasted token than a misspelt flag, so it is
// not repeated back.
const FLAG = /'(--?[a-z][a-z-]{0,31})(?: <value>)?'/;

/** Our words for one of parseArgs's refusals: the flag's name at most, never a value. */
function problemOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  const flag = FLAG.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return flag !== undefined ? `option ${flag} (not an option of this command)` : 'option';
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag !== undefined ? `option ${flag} (it takes a value, or takes none)` : 'option';
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'arguments (this command takes no such argument)';
    default:
      return 'options';
  }
}

/**
 * Runs node's `parseArgs` (strict) and turns its errors into ours, naming the flag but
 * never a value (its messages may quote what was typed). Extra positionals are refused.
 * Every error points at the command's own `--help`.
 */
export function parseCommandArgs<T extends { positionals: string[] }>(
  parse: () => T,
  positionals = 0,
): T {
  let parsed: T;
  try {
    parsed = parse();
  } catch (err) {
    throw new InvalidArgumentError(`${problemOf(err)}; see --help`);
  }
  if (parsed.positionals.length > positionals)
    throw new InvalidArgumentError('arguments (too many; see --help)');
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

/** True when `--help` or `-h` comes before any `--` (after it, it is the command's own). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * The one line a long-running command prints once it listens (what scripts wait for):
 * `<service> listening on <url>`, or with --json `{"service": …, "listening": url}`.
 */
export function startLine(
  json: boolean,
  service: string,
  url: string,
  stream: NodeJS.WritableStream = process.stdout,
): void {
  stream.write(
    json ? JSON.stringify({ service, listening: url }) + '\n' : `${service} listening on ${url}\n`,
  );
}
