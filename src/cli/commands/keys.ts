/**
 * `bastion keys rotate --data-dir DIR | --config FILE`: a new AC signing key. The running
 * server picks it up on SIGHUP or restart; the old public key stays in the JWKS until every
 * AC it signed has expired.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../base/errors.js';
import { BrokerKeyring } from '../../governance/keyring.js';
import { output, parseCommandArgs } from '../args.js';
import { dataDirOf } from '../data-dir.js';
import { FLAGS } from '../flags.js';

export async function runKeys(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'rotate')
    throw new InvalidArgumentError('keys subcommand (use: bastion keys rotate)');
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args: rest,
      options: FLAGS['keys rotate'],
      strict: true,
    }),
  );
  const dataDir = dataDirOf(values['data-dir'], values.config);
  const result = await BrokerKeyring.rotate(dataDir);
  output(values.json === true, result, () => [
    `active key  ${result.active}`,
    `retired key ${result.retired} (stays in the JWKS until the ACs it signed expire)`,
    'Send SIGHUP to a running `bastion serve` (or restart it) to start signing with the new key.',
  ]);
  return 0;
}
