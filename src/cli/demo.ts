/**
 * `bastion demo`: the broker's main job on embedded defaults, end to end and in one
 * process — start a broker (SQLite in a temporary data directory, the dev backend) with a
 * sample accord, issue an AC over HTTP with a DPoP proof, verify it, resolve a short-lived
 * SSH certificate for its target, show it redacted with its fingerprint, discard it, and
 * revoke the AC. Nothing is left behind: the temporary directory is removed.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevBackend } from '../backends/dev/dev-backend.js';
import { BastionClient } from '../client/client.js';
import { parseConfig } from '../config/config.js';
import { credentialFingerprint } from '../credentials/fingerprint.js';
import { CredentialResolver } from '../credentials/resolver.js';
import { secretsOf } from '../credentials/types.js';
import { acContextOf, unsafeDecodeAc } from '../governance/ac.js';
import { generatePrincipalKey } from '../governance/did-key.js';
import { createLogger } from '../log/logger.js';
import { startServer } from '../server/app.js';
import { parseCommandArgs } from './args.js';

export function sampleConfig(principalDid: string, dataDir: string): string {
  return `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: warn
accords:
  - id: ops-exec
    principals: [${principalDid}]
    connectors: [ssh, bascule]
    targets: ["*.internal.test", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["uptime", "systemctl status *"], deny: ["*rm *"] }
    max_duration: 15m
    ssh_login: ops
    approvals: { required: 0 }
`;
}

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({ args: args, options: { json: { type: 'boolean' } }, strict: true }),
  );
  const json = values.json === true;
  const say = (line: string): void => {
    if (!json) process.stdout.write(line + '\n');
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-demo-'));
  const principal = generatePrincipalKey();
  const configText = sampleConfig(principal.did, dataDir);
  const server = await startServer({
    config: parseConfig(configText, join(dataDir, 'bastion.yaml')),
  });
  try {
    say(`1. Broker listening on ${server.url} (data in ${dataDir}), with this accord:\n`);
    say(
      configText
        .split('\n')
        .slice(3)
        .map((l) => `     ${l}`)
        .join('\n'),
    );
    say(`   Principal: ${principal.did} (a fresh did:key, held only in memory)\n`);

    const client = new BastionClient({ url: server.url, key: principal });
    const target = 'db1.internal.test';
    const issued = await client.authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target,
      capabilities: ['exec'],
      duration_seconds: 600,
      justification: 'bastion demo',
    });
    if (issued.status !== 'active') throw new Error('the demo accord needs no approval');
    say(
      `2. POST /governance/authorize/ with a DPoP proof → 201, AC ${issued.ac_id}, expires ${issued.expires_at}`,
    );
    say(`   AC claims (the token is bound to the principal's key by cnf.jkt):`);
    say(JSON.stringify(unsafeDecodeAc(issued.ac), null, 2).replace(/^/gm, '     '));

    const verified = await server.service.verify(issued.ac);
    const resolver = new CredentialResolver({ logger: createLogger({ level: 'warn' }) });
    const dev = await DevBackend.create();
    resolver.register(dev);
    const credential = await resolver.resolve('ssh_cert', target, acContextOf(verified.claims));
    const fingerprint = credentialFingerprint(credential);
    let wiped = false;
    try {
      const window = Math.round((credential.expiresAt.getTime() - Date.now()) / 1000);
      say(
        `\n3. AC verified; the dev backend issued a ${credential.type} for ${credential.scopedTo}`,
      );
      say(
        `   usable for ${window} s, fingerprint ${fingerprint.fingerprint} (serial ${fingerprint.id ?? '-'}):`,
      );
      say(JSON.stringify(credential, null, 2).replace(/^/gm, '     '));
    } finally {
      await resolver.discard(credential);
      wiped = secretsOf(credential).every((s) => s === undefined || s.disposed);
    }
    const revokedAtBackend = dev.isRevoked(credential.id ?? '');
    say(
      `\n4. Credential discarded: revoked at '${credential.issuedBy}': ${revokedAtBackend}, bytes zero-filled: ${wiped}`,
    );

    const revoked = await client.revoke(issued.ac_id);
    say(`5. POST /governance/revoke/ → AC status '${revoked.status}'; verifying it now fails.`);
    const refused = await server.service.verify(issued.ac).then(
      () => false,
      () => true,
    );
    if (json) {
      process.stdout.write(
        JSON.stringify(
          {
            broker: server.url,
            principal: principal.did,
            ac_id: issued.ac_id,
            ac_claims: unsafeDecodeAc(issued.ac),
            credential,
            fingerprint,
            discarded: { revoked_at_backend: revokedAtBackend, zero_filled: wiped },
            ac_status_after_revoke: revoked.status,
            ac_refused_after_revoke: refused,
          },
          null,
          2,
        ) + '\n',
      );
    }
    return revokedAtBackend && wiped && refused ? 0 : 1;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
