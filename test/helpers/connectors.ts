/**
 * A broker with real targets behind it: a real OpenSSH sshd on 127.0.0.1 (trusting the
 * test's dev CA) and a real Bascule runtime on a Unix socket (trusting the broker's JWKS).
 * The dev backend is wrapped in a spy that records what it issued and what was revoked.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { startBascule, type RunningBascule } from '../../src/bascule/runtime.js';
import { BastionClient } from '../../src/client/client.js';
import type { Clock } from '../../src/base/clock.js';
import { parseConfig } from '../../src/config/config.js';
import type { CredentialBackend } from '../../src/credentials/backend.js';
import type { Credential } from '../../src/credentials/types.js';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { startSshd } from './sshd.js';

export interface SpyBackend extends CredentialBackend {
  readonly issued: Credential[];
  readonly revoked: Credential[];
  /** When set, the next resolve returns this instead (then it is cleared). */
  next?: () => Promise<Credential>;
  /**
   * UNSAFE, tests only: called with each credential as issued, before the broker uses it,
   * so a test can copy it as a thief would (the stolen-credential tests).
   */
  unsafeCapture?: (credential: Credential) => void;
}

export function spyOn(inner: CredentialBackend): SpyBackend {
  const spy: SpyBackend = {
    id: 'spy',
    supportedTypes: inner.supportedTypes,
    issued: [],
    revoked: [],
    async resolve(type, target, ac, signal, binding) {
      const make = spy.next;
      delete spy.next;
      const c =
        make !== undefined ? await make() : await inner.resolve(type, target, ac, signal, binding);
      const credential = { ...c, issuedBy: 'spy' } as Credential;
      spy.issued.push(credential);
      spy.unsafeCapture?.(credential);
      return credential as never;
    },
    async revoke(credential) {
      spy.revoked.push(credential);
      await inner.revoke(credential);
    },
  };
  return spy;
}

export interface ConnectorBroker {
  server: RunningServer;
  bascule: RunningBascule;
  sshd: Awaited<ReturnType<typeof startSshd>>;
  dev: DevBackend;
  spy: SpyBackend;
  user: string;
  alice: PrincipalKey;
  /** An agent key alice may delegate `agent-ops` ACs to. */
  agent: PrincipalKey;
  dataDir: string;
  client(key?: PrincipalKey): BastionClient;
  /** Authorizes under `accord` for `connector`/`target` and returns the AC token. */
  ac(
    accord: string,
    connector: string,
    target: string,
    caps?: string[],
  ): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

export async function startConnectorBroker(
  options: {
    clock?: Clock;
    outputBytes?: number;
    execTimeout?: string;
    marker?: string;
    logs?: NodeJS.WritableStream;
    /** A base URL to add an `http-api` accord for (GET/HEAD /status*, anything but /admin*). */
    httpTarget?: string;
    /** Top-level settings appended to the configuration (`metrics:`, `tracing:`). */
    extraYaml?: string;
    /** `connectors.ssh.source_addresses`: what each certificate's source-address says. */
    sshSourceAddresses?: readonly string[];
  } = {},
): Promise<ConnectorBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-conn-'));
  const user = userInfo().username;
  const alice = generatePrincipalKey();
  const agent = generatePrincipalKey();
  const dev = await DevBackend.create({ ...(options.marker ? { marker: options.marker } : {}) });
  const spy = spyOn(dev);
  const sshd = await startSshd({
    caPublicKeys: [dev.caPublicKey()],
    principals: { [user]: [user] },
  });
  writeFileSync(join(dataDir, 'known_hosts'), sshd.knownHostsText);
  const sock = join(dataDir, 'bascule.sock');
  const yaml = `
listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: ${options.logs ? 'debug' : 'warn'}
admins: [${alice.did}]
limits: { output_bytes: ${options.outputBytes ?? 65536}, exec_timeout: ${options.execTimeout ?? '10s'} }
connectors:
  ssh:
    known_hosts: ${join(dataDir, 'known_hosts')}
    hosts: { "127.0.0.1": { port: ${sshd.port} }, "other.internal.test": { address: 127.0.0.1, port: ${sshd.port} } }
${options.sshSourceAddresses ? `    source_addresses: ${JSON.stringify(options.sshSourceAddresses)}\n` : ''}  bascule:
    targets: { "db1.internal.test": "unix:${sock}" }
backends:
  - kind: dev
accords:
  - id: ssh-ops
    principals: [${alice.did}]
    connectors: [ssh]
    targets: ["127.0.0.1", "other.internal.test"]
    capabilities: [read, exec]
    commands: { allow: ["*"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
    ssh_login: ${user}
  - id: bascule-ops
    principals: [${alice.did}]
    connectors: [bascule]
    targets: ["db1.internal.test", "db2.internal.test"]
    capabilities: [read, exec]
    commands: { allow: ["echo *", "sh -c *", "sleep *", "yes", "true", "id", "head *"], deny: ["*rm *"] }
    max_duration: 15m
  - id: agent-ops
    principals: [${alice.did}]
    delegates: [${agent.did}]
    connectors: [bascule, ssh]
    targets: ["db1.internal.test", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["echo *", "id", "true"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
    ssh_login: ${user}
${
  options.httpTarget
    ? `  - id: http-api
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${options.httpTarget}"]
    capabilities: [read, write]
    paths: { allow: ["GET /status", "GET /status/*", "POST /items"], deny: ["* /admin*"] }
    max_duration: 15m
`
    : ''
}  - id: read-only
    principals: [${alice.did}]
    connectors: [ssh, bascule]
    targets: ["127.0.0.1", "db1.internal.test"]
    capabilities: [read]
    max_duration: 15m
    ssh_login: ${user}
${options.extraYaml ?? ''}`;
  const config = parseConfig(yaml, join(dataDir, 'bastion.yaml'));
  const server = await startServer({
    config,
    backends: [spy],
    logDestination: options.logs ?? false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const bascule = await startBascule({
    name: 'db1.internal.test',
    jwksUrl: `${server.url}/.well-known/jwks.json`,
    socket: sock,
    auditFile: join(dataDir, 'bascule-audit.jsonl'),
    limits: { maxOutputBytes: options.outputBytes ?? 65536, timeoutMs: 10_000 },
    logDestination: false,
  });
  const client = (key: PrincipalKey = alice) => new BastionClient({ url: server.url, key });
  return {
    server,
    bascule,
    sshd,
    dev,
    spy,
    user,
    alice,
    agent,
    dataDir,
    client,
    async ac(accord, connector, target, caps = ['exec']) {
      const r = await client().authorize({
        accord,
        connector,
        target,
        capabilities: caps,
        duration_seconds: 600,
      });
      if (r.status !== 'active') throw new Error('expected an active AC');
      return { id: r.ac_id, token: r.ac };
    },
    async close() {
      await bascule.close();
      await server.close();
      await sshd.stop();
    },
  };
}
