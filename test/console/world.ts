/**
 * The web console's world, all on 127.0.0.1: a real broker (in this process) with a dev
 * backend whose every credential carries a marker, in front of a real sshd; a requester
 * whose key `bastion keygen` wrote (the browser imports it, the CLI invokes with it); and
 * an accord needing one approval, whose approver and broker admin is the key a browser
 * generates — named in the configuration by a reload, as an operator would add it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { bastion } from '../helpers/cli.js';
import { newMarker } from '../helpers/leak.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

export const ACCORD = 'console-ssh';

export interface ConsoleWorld {
  readonly server: RunningServer;
  readonly sshd: Sshd;
  readonly url: string;
  /** In every credential the dev backend issues. */
  readonly marker: string;
  readonly requesterKeyFile: string;
  /** As `bastion keygen --json` printed it. */
  readonly requesterDid: string;
  /** Makes `did` the accord's approver and a broker admin (a configuration reload). */
  admit(did: string): void;
  close(): Promise<void>;
}

export async function startConsoleWorld(tls?: {
  cert_file: string;
  key_file: string;
}): Promise<ConsoleWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-console-'));
  const user = userInfo().username;
  const marker = newMarker();
  const dev = await DevBackend.create({ marker });
  const sshd = await startSshd({
    caPublicKeys: [dev.caPublicKey()],
    principals: { [user]: [user] },
  });
  writeFileSync(join(dir, 'known_hosts'), sshd.knownHostsText);
  const requesterKeyFile = join(dir, 'requester.key');
  const keygen = bastion(['keygen', '--out', requesterKeyFile, '--json']);
  if (keygen.status !== 0) throw new Error(`keygen failed: ${keygen.stderr}`);
  const requesterDid = (JSON.parse(keygen.stdout) as { did: string }).did;
  const yaml = (approver: string): string => `
listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: warn
admins: [${approver}]
limits: { output_bytes: 65536, exec_timeout: 10s, rate_per_minute: 1000 }
${tls === undefined ? '' : `tls: { cert_file: ${tls.cert_file}, key_file: ${tls.key_file} }`}
connectors:
  ssh:
    known_hosts: ${join(dir, 'known_hosts')}
    hosts: { "127.0.0.1": { port: ${sshd.port} } }
accords:
  - id: ${ACCORD}
    principals: [${requesterDid}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["echo *"] }
    max_duration: 15m
    ssh_login: ${user}
    approvals: { required: 1, approvers: [${approver}] }
`;
  const file = join(dir, 'bastion.yaml');
  // Until a browser makes the approver's key, a key nobody holds stands in for it.
  const config = parseConfig(yaml(generatePrincipalKey().did), file);
  const server = await startServer({ config, backends: [dev], logDestination: false });
  return {
    server,
    sshd,
    url: server.url,
    marker,
    requesterKeyFile,
    requesterDid,
    admit: (did) => void server.reload(parseConfig(yaml(did), file)),
    close: async () => {
      await server.close();
      await sshd.stop();
    },
  };
}
