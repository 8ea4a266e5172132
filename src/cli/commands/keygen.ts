/** `bastion keygen --out FILE`: a new did:key principal key (0600); prints its DID. */
import { parseArgs } from 'node:util';
import { writePrincipalKey } from '../../governance/did-key.js';
import { output, parseCommandArgs, required } from '../args.js';

export function runKeygen(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args: args,
      options: { out: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
    }),
  );
  const file = required(values.out, '--out');
  const key = writePrincipalKey(file);
  output(values.json === true, { did: key.did, file }, () => [key.did]);
  return Promise.resolve(0);
}
