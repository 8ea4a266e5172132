/**
 * `bastion invoke AC_ID --key FILE OPERATION`: runs one operation under an AC through the
 * broker. The AC's connector and target are the ones it was issued for; the operation's
 * flags come from that connector's operation schema (see ../operation-flags.ts). A
 * command's output goes to stdout/stderr and its exit status becomes ours (as ssh does);
 * an HTTP reply's body goes to stdout, and a status of 400 or more exits 1.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import { ERROR_CATALOG } from '../../base/error-catalog.js';
import { BrokerError } from '../../client/client.js';
import { parseOrThrow } from '../../base/zod-issues.js';
import type { InvokeResponse } from '../../connectors/session.js';
import { connectorRegistry } from '../../connectors/registry.js';
import type { ExecResult } from '../../transports/types.js';
import { parseCommandArgs } from '../args.js';
import { FLAGS } from '../flags.js';
import { operationFromFlags } from '../operation-flags.js';
import { clientFor } from './governance.js';

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

/**
 * An AC that is not active is refused as the broker's invoke route would refuse it, with
 * the same code and exit status, without presenting a token that can no longer be used.
 */
function refusalOf(status: 'pending_approval' | 'expired' | 'revoked' | 'denied'): BrokerError {
  const code = {
    pending_approval: 'ac_pending_approval',
    denied: 'ac_denied',
    expired: 'ac_expired',
    revoked: 'ac_revoked',
  }[status];
  const spec = ERROR_CATALOG.get(code);
  return new BrokerError(spec?.status ?? 401, code, spec?.message ?? code);
}

export async function runInvoke(args: string[]): Promise<number> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const rest = split === -1 ? [] : args.slice(split + 1);
  const { values, positionals } = parseCommandArgs(
    () =>
      parseArgs({
        args: own,
        options: FLAGS.invoke,
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
  if (view.status !== 'active') throw refusalOf(view.status);
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
