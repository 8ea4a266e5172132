/**
 * `bastion demo`: one credential's whole life on embedded defaults — resolve from the dev
 * backend, show the redacted credential and its fingerprint, revoke, zeroize.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DevBackend } from '../backends/dev/dev-backend.js';
import { credentialFingerprint } from '../credentials/fingerprint.js';
import { CredentialResolver } from '../credentials/resolver.js';
import {
  type AcContext,
  type Credential,
  isCredentialType,
  secretsOf,
} from '../credentials/types.js';
import { InvalidArgumentError } from '../errors.js';
import { createLogger } from '../log/logger.js';

function parseDemoArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        type: { type: 'string', default: 'ssh_cert' },
        target: { type: 'string', default: 'demo.internal.test' },
        login: { type: 'string', default: 'demo' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch {
    // parseArgs' messages quote the offending input; ours does not.
    throw new InvalidArgumentError('options (see bastion help)');
  }
}

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseDemoArgs(args);
  const type = values.type;
  if (!isCredentialType(type) || (type !== 'ssh_cert' && type !== 'oauth')) {
    throw new InvalidArgumentError('--type (the dev backend issues ssh_cert and oauth)');
  }

  const logger = createLogger();
  const dev = await DevBackend.create();
  const resolver = new CredentialResolver({ logger });
  resolver.register(dev);

  // Until governance lands, the demo stands in for an AC that `POST /governance/authorize/`
  // would have issued: the same fields, unsigned, held only in this process.
  const now = Date.now();
  const ac: AcContext = {
    ac_id: randomUUID(),
    principal_did: 'did:key:z6MkDemoPrincipalOnlyForTheEmbeddedDemo',
    capability_mask: 0b11,
    capabilities: ['read', 'exec'],
    accord_template: 'demo',
    connector: type === 'ssh_cert' ? 'ssh' : 'http',
    target: values.target,
    expires_at: Math.floor(now / 1000) + 300,
    ssh_principals: [values.login],
  };

  const credential: Credential = await resolver.resolve(type, values.target, ac);
  const fingerprint = credentialFingerprint(credential);
  const windowSeconds = Math.round((credential.expiresAt.getTime() - Date.now()) / 1000);
  let discarded = false;
  try {
    if (values.json) {
      process.stdout.write(JSON.stringify({ credential, fingerprint }, null, 2) + '\n');
    } else {
      process.stdout.write(
        [
          `Resolved an ${credential.type} credential from backend '${credential.issuedBy}'`,
          `  for target   ${credential.target}`,
          `  scoped to    ${credential.scopedTo}`,
          `  expires at   ${credential.expiresAt.toISOString()} (usable for ${windowSeconds} s)`,
          `  fingerprint  ${fingerprint.fingerprint}${fingerprint.id ? ` (id ${fingerprint.id})` : ''}`,
          '',
          'As JSON (secrets redacted by construction):',
          JSON.stringify(credential, null, 2),
          '',
        ].join('\n'),
      );
    }
  } finally {
    await resolver.discard(credential);
    discarded = secretsOf(credential).every((s) => s === undefined || s.disposed);
  }
  const revoked = credential.id !== undefined && dev.isRevoked(credential.id);
  process.stderr.write(
    `Discarded: revoked at '${credential.issuedBy}': ${revoked}; secret bytes zero-filled: ${discarded}\n`,
  );
  return revoked && discarded ? 0 : 1;
}
