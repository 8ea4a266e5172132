/**
 * `bastion doctor [--config FILE | --data-dir DIR] [--json] [--offline]`: what is wrong
 * with a deployment before it bites — accords that can never match, command patterns that
 * do not match what they seem to, unreachable backends, skewed clocks, loose file modes, an
 * unhealthy audit sink or store. The checks live in src/doctor/; this only prints them.
 * Exit 1 when any check fails; warnings and skipped checks exit 0.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import {
  CHECK_GROUPS,
  type CheckResult,
  type CheckStatus,
  exitCodeOf,
} from '../../doctor/check.js';
import { runDoctor } from '../../doctor/run.js';
import { output, parseCommandArgs } from '../args.js';
import { FLAGS } from '../flags.js';

const MARKS: Readonly<Record<CheckStatus, string>> = {
  ok: '[ok]  ',
  warn: '[warn]',
  fail: '[FAIL]',
  skipped: '[skip]',
};

/** One line per check, grouped, its detail indented below it; a count at the end. */
export function doctorLines(results: readonly CheckResult[]): string[] {
  const lines: string[] = [];
  for (const group of CHECK_GROUPS) {
    const mine = results.filter((r) => r.group === group);
    if (mine.length === 0) continue;
    lines.push(`${group}:`);
    for (const r of mine) {
      lines.push(`  ${MARKS[r.status]} ${r.message}`);
      for (const d of r.detail ?? []) lines.push(`           ${d}`);
    }
  }
  const count = (s: CheckStatus): number => results.filter((r) => r.status === s).length;
  lines.push(
    `doctor: ${count('fail')} failed, ${count('warn')} warnings, ${count('ok')} ok, ${count('skipped')} skipped`,
  );
  return lines;
}

export async function runDoctorCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({ args, options: FLAGS.doctor, strict: true }),
  );
  if (values.config === undefined && values['data-dir'] === undefined) {
    throw new InvalidArgumentError('--data-dir or --config (one is required)');
  }
  const results = await runDoctor({
    configFile: values.config,
    dataDir: values['data-dir'],
    offline: values.offline === true,
  });
  output(values.json === true, results, () => doctorLines(results));
  return exitCodeOf(results);
}
