/**
 * `bastion invoke AC_ID --key FILE OPERATION`: runs one operation under an AC through the
 * broker. The AC's connector and target are the ones it was issued for; the operation's
 * flags come from that connector's operation schema (see ../operation-flags.ts). A
 * command's output goes to stdout/stderr and its exit status becomes ours (as ssh does);
 * an HTTP reply's body goes to stdout, and a status of 400 or more exits 1.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import { parseOrThrow } from '../../base/zod-issues.js';
import type { InvokeResponse } from '../../connectors/session.js';
import { connectorRegistry } from '../../connectors/registry.js';
import type { ExecResult } from '../../transports/types.js';
import { parseCommandArgs } from '../args.js';
import { operationFlags, operationFromFlags } from '../operation-flags.js';
import { clientFor } from './governance.js';

/** Every operation flag any registered connector takes (each is checked against the AC's). */
function operationOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const plugin of connectorRegistry.list()) {
    for (const flag of operationFlags(plugin.operation)) {
      if (flag.kind === 'rest') continue;
      options[flag.field] = { type: 'string', multiple: flag.kind !== 'string' };
    }
  }
  return options;
}

interface HttpReply {
  status: number;
  body: string;
  body_encoding: 'utf8' | 'base64';
  body_truncated: boolean;
  timed_out: boolean;
}

/** Prints a result as the connector's kind of work reads best; returns the exit status. */
function render(result: unknown): number {
  if (typeof result === 'object' && result !== null && 'exit_code' in result) {
    const exec = result as ExecResult;
    process.stdout.write(exec.stdout);
    process.stderr.write(exec.stderr);
    if (exec.stdout_truncated || exec.stderr_truncated) {
      process.stderr.write('bastion: output truncated at the broker limit\n');
    }
    if (exec.timed_out) process.stderr.write('bastion: the command timed out\n');
    return exec.exit_code ?? 124;
  }
  const reply = result as HttpReply;
  process.stdout.write(Buffer.from(reply.body, reply.body_encoding));
  if (reply.body_truncated) process.stderr.write('bastion: body truncated at the broker limit\n');
  if (reply.timed_out) process.stderr.write('bastion: the request timed out\n');
  if (reply.status >= 400) process.stderr.write(`bastion: the target answered ${reply.status}\n`);
  return reply.status >= 400 ? 1 : 0;
}

export async function runInvoke(args: string[]): Promise<number> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const rest = split === -1 ? [] : args.slice(split + 1);
  const { values, positionals } = parseCommandArgs(
    () =>
      parseArgs({
        args: own,
        options: {
          key: { type: 'string' },
          url: { type: 'string' },
          json: { type: 'boolean' },
          ...operationOptions(),
        },
        strict: true,
        allowPositionals: true,
      }),
    1,
  );
  const acId = positionals[0];
  if (acId === undefined) throw new InvalidArgumentError('AC id (it is required)');
  const { key, url, json, ...given } = values as Record<string, string | string[] | undefined> & {
    json?: boolean;
  };
  const client = clientFor({ key, url } as { key?: string; url?: string });
  const view = await client.show(acId);
  if (view.ac === undefined) throw new InvalidArgumentError('AC id (not an active AC of this key)');
  const plugin = connectorRegistry.get(view.connector);
  if (plugin === undefined) throw new InvalidArgumentError('AC (its connector is unknown here)');
  const operation = parseOrThrow(
    plugin.operation.schema,
    operationFromFlags(plugin.operation, plugin.kind, given, rest),
    'operation',
  );
  const response: InvokeResponse = await client.invoke(view.connector, view.ac, {
    target: view.target,
    operation,
  });
  if (json === true) {
    process.stdout.write(JSON.stringify(response, null, 2) + '\n');
    return 0;
  }
  return render(response.result);
}
