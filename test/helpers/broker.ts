/**
 * A real broker for integration tests: `startServer` on 127.0.0.1 with a random port and a
 * fresh data directory, reached over real HTTP; principals are fresh did:key keys.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BastionClient } from '../../src/client/client.js';
import type { Clock } from '../../src/base/clock.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';

export interface TestBroker {
  server: RunningServer;
  url: string;
  dataDir: string;
  keys: Record<'alice' | 'bob' | 'carol' | 'admin' | 'mallory', PrincipalKey>;
  client(key: PrincipalKey): BastionClient;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function testConfigYaml(dataDir: string, keys: TestBroker['keys'], extra = ''): string {
  return `
listen: 127.0.0.1:0
data_dir: ${dataDir}
admins: [${keys.admin.did}]
limits: { body_bytes: 4096, rate_per_minute: 1000 }
log_level: warn
backends:
  - kind: dev
accords:
  - id: ops-exec
    principals: [${keys.alice.did}]
    connectors: [ssh, bascule]
    targets: ["*.internal.test", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["uptime", "systemctl status *"], deny: ["*rm *"] }
    max_duration: 15m
    ssh_login: ops
    approvals: { required: 0 }
  - id: prod-write
    principals: [${keys.alice.did}]
    connectors: [ssh]
    targets: ["*.prod.test"]
    capabilities: [read, write]
    max_duration: 1h
    ssh_login: ops
    approvals: { required: 2, approvers: [${keys.bob.did}, ${keys.carol.did}] }
${extra}`;
}

export async function startTestBroker(
  options: {
    clock?: Clock;
    /** More accords, appended to the list; given the principals' keys when a function. */
    extraYaml?: string | ((keys: TestBroker['keys']) => string);
    rate?: number;
    logs?: NodeJS.WritableStream;
    logLevel?: string;
  } = {},
): Promise<TestBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-broker-'));
  const keys = {
    alice: generatePrincipalKey(),
    bob: generatePrincipalKey(),
    carol: generatePrincipalKey(),
    admin: generatePrincipalKey(),
    mallory: generatePrincipalKey(),
  };
  const extra =
    typeof options.extraYaml === 'function' ? options.extraYaml(keys) : options.extraYaml;
  let yaml = testConfigYaml(dataDir, keys, extra);
  if (options.rate !== undefined)
    yaml = yaml.replace('rate_per_minute: 1000', `rate_per_minute: ${options.rate}`);
  if (options.logLevel !== undefined) {
    yaml = yaml.replace('log_level: warn', `log_level: ${options.logLevel}`);
  }
  const config = parseConfig(yaml, join(dataDir, 'bastion.yaml'));
  const start = () =>
    startServer({
      config,
      logDestination: options.logs ?? false,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  const broker: TestBroker = {
    server: await start(),
    url: '',
    dataDir,
    keys,
    client: (key) => new BastionClient({ url: broker.url, key }),
    restart: async () => {
      const port = new URL(broker.url).port;
      await broker.server.close();
      config.listen.port = Number(port);
      broker.server = await start();
    },
    close: () => broker.server.close(),
  };
  broker.url = broker.server.url;
  return broker;
}
