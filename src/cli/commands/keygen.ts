/**
 * `bastion keygen --out FILE [--force]`: a new did:key principal key (0600); prints its DID.
 * An existing file is a key someone may still use: it is replaced only with --force.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../base/errors.js';
import { writePrincipalKey } from '../../governance/did-key.js';
import { output, parseCommandArgs, required } from '../args.js';
import { FLAGS } from '../flags.js';

export function runKeygen(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({ args: args, options: FLAGS.keygen, strict: true }),
  );
  const file = required(values.out, '--out');
  const replace = values.force === true;
  // Said here with the flag that overrides it (writePrincipalKey refuses it anyway: 'wx').
  if (!replace && existsSync(file))
    throw new ConfigError(file, 'a key file already exists there (--force replaces it)');
  const key = writePrincipalKey(file, { replace });
  output(values.json === true, { did: key.did, file }, () => [key.did]);
  return Promise.resolve(0);
}
