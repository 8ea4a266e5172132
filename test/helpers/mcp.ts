/**
 * For the MCP bridge tests: a real broker whose agent key is an ordinary (non-admin)
 * principal, in front of a real sshd and a real Bascule runtime; a human who can delegate
 * to the agent and approve its requests; and MCP client transports that record every
 * JSON-RPC message both ways, so a test can prove what the agent saw.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type {
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { startBascule, type RunningBascule } from '../../src/bascule/runtime.js';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { type SpyBackend, spyOn } from './connectors.js';
import { newMarker } from './leak.js';
import { startSshd, type Sshd } from './sshd.js';

export interface McpBroker {
  server: RunningServer;
  bascule: RunningBascule;
  sshd: Sshd;
  spy: SpyBackend;
  url: string;
  /** Tags every credential the dev backend issues (in the SSH private key's comment). */
  marker: string;
  keys: Record<'agent' | 'human' | 'other', PrincipalKey>;
  /** The agent's key as PKCS#8 PEM in a 0600 file, for `bastion mcp --key`. */
  agentKeyFile: string;
  dataDir: string;
  client(key: PrincipalKey): BastionClient;
  close(): Promise<void>;
}

export async function startMcpBroker(): Promise<McpBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-mcp-'));
  const user = userInfo().username;
  const keys = {
    agent: generatePrincipalKey(),
    human: generatePrincipalKey(),
    other: generatePrincipalKey(),
  };
  const marker = newMarker();
  const dev = await DevBackend.create({ marker });
  const spy = spyOn(dev);
  const sshd = await startSshd({
    caPublicKeys: [dev.caPublicKey()],
    principals: { [user]: [user] },
  });
  writeFileSync(join(dataDir, 'known_hosts'), sshd.knownHostsText);
  const sock = join(dataDir, 'bascule.sock');
  // The broker admin is the human: the agent sees only its own audit entries.
  const yaml = `
listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: warn
admins: [${keys.human.did}]
limits: { output_bytes: 65536, exec_timeout: 10s, rate_per_minute: 1000 }
connectors:
  ssh:
    known_hosts: ${join(dataDir, 'known_hosts')}
    hosts: { "127.0.0.1": { port: ${sshd.port} }, "other.internal.test": { address: 127.0.0.1, port: ${sshd.port} } }
  bascule:
    targets: { "db1.internal.test": "unix:${sock}" }
accords:
  - id: agent-ssh
    principals: [${keys.agent.did}, ${keys.other.did}]
    connectors: [ssh]
    targets: ["127.0.0.1", "other.internal.test"]
    capabilities: [read, exec]
    commands: { allow: ["*"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
    ssh_login: ${user}
  - id: agent-bascule
    principals: [${keys.agent.did}]
    connectors: [bascule]
    targets: ["db1.internal.test"]
    capabilities: [read, exec]
    commands: { allow: ["echo *", "id", "true"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
  - id: agent-gated
    principals: [${keys.agent.did}]
    connectors: [bascule]
    targets: ["db1.internal.test"]
    capabilities: [exec]
    commands: { allow: ["echo *"] }
    max_duration: 15m
    approvals: { required: 1, approvers: [${keys.human.did}] }
  - id: human-delegates
    principals: [${keys.human.did}]
    delegates: [${keys.agent.did}]
    connectors: [bascule]
    targets: ["db1.internal.test"]
    capabilities: [exec]
    commands: { allow: ["echo *"] }
    max_duration: 15m
  - id: human-only
    principals: [${keys.human.did}]
    admins: [${keys.agent.did}]
    connectors: [bascule]
    targets: ["db1.internal.test"]
    capabilities: [exec]
    max_duration: 15m
`;
  const config = parseConfig(yaml, join(dataDir, 'bastion.yaml'));
  const server = await startServer({ config, backends: [spy], logDestination: false });
  const bascule = await startBascule({
    name: 'db1.internal.test',
    jwksUrl: `${server.url}/.well-known/jwks.json`,
    socket: sock,
    auditFile: join(dataDir, 'bascule-audit.jsonl'),
    limits: { maxOutputBytes: 65536, timeoutMs: 10_000 },
    logDestination: false,
  });
  const agentKeyFile = join(dataDir, 'agent.key');
  writeFileSync(agentKeyFile, keys.agent.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
    mode: 0o600,
  });
  return {
    server,
    bascule,
    sshd,
    spy,
    url: server.url,
    marker,
    keys,
    agentKeyFile,
    dataDir,
    client: (key) => new BastionClient({ url: server.url, key }),
    async close() {
      await bascule.close();
      await server.close();
      await sshd.stop();
    },
  };
}

/** Wraps a client transport and keeps every JSON-RPC message it sends or receives. */
export class RecordingTransport implements Transport {
  readonly messages: string[] = [];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  constructor(readonly inner: Transport) {
    inner.onmessage = (message, extra) => {
      this.messages.push(JSON.stringify(message));
      this.onmessage?.(message, extra);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => {
      this.messages.push(`transport error: ${error.message}`);
      this.onerror?.(error);
    };
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.messages.push(JSON.stringify(message));
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Everything seen, as one text to scan. */
  transcript(): string {
    return this.messages.join('\n');
  }
}
