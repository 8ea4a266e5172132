/**
 * `bastion invoke AC_ID --key FILE [--command "..."] [-- ARGV...]`: runs one command under
 * an AC through the broker. The AC's connector and target are the ones it was issued for;
 * the command's output goes to stdout/stderr and its exit status becomes ours (as ssh does).
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import { parseCommandArgs } from '../args.js';
import { clientFor } from './governance.js';

export async function runInvoke(args: string[]): Promise<number> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const argv = split === -1 ? [] : args.slice(split + 1);
  const { values, positionals } = parseCommandArgs(
    () =>
      parseArgs({
        args: own,
        options: {
          key: { type: 'string' },
          url: { type: 'string' },
          json: { type: 'boolean' },
          command: { type: 'string' },
          stdin: { type: 'string' },
        },
        strict: true,
        allowPositionals: true,
      }),
    1,
  );
  const acId = positionals[0];
  if (acId === undefined) throw new InvalidArgumentError('AC id (it is required)');
  if ((values.command === undefined) === (argv.length === 0)) {
    throw new InvalidArgumentError('command (give --command "..." or -- ARGV...)');
  }
  const client = clientFor(values);
  const view = await client.show(acId);
  if (view.ac === undefined) throw new InvalidArgumentError('AC id (not an active AC of this key)');
  const response = await client.invoke(view.connector, view.ac, {
    target: view.target,
    operation: {
      ...(values.command !== undefined ? { command: values.command } : { argv }),
      ...(values.stdin !== undefined ? { stdin: values.stdin } : {}),
    },
  });
  if (values.json === true) {
    process.stdout.write(JSON.stringify(response, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(response.result.stdout);
  process.stderr.write(response.result.stderr);
  if (response.result.stdout_truncated || response.result.stderr_truncated) {
    process.stderr.write('bastion: output truncated at the broker limit\n');
  }
  if (response.result.timed_out) process.stderr.write('bastion: the command timed out\n');
  return response.result.exit_code ?? 124;
}
