/**
 * Two `bastion serve` processes on one PostgreSQL database, as a load balancer would have
 * them: each its own data directory, one signing identity (the keys in the database,
 * wrapped under the key-encryption key both are given), the same `public_url` (a DPoP proof names the balancer's URL, not a replica's),
 * the dev backend and one sshd trusting both replicas' dev CAs. Clients are real
 * `BastionClient`s whose requests are routed to a chosen replica.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { type ChildBroker, MAIN, spawnBroker } from './child-broker.js';
import { makeFifo } from './fifo.js';
import { type Sshd, startSshd } from './sshd.js';

export const PUBLIC_URL = 'http://bastion.test';

/** One replica: its broker, config file and data directory. */
export interface Replica {
  broker: ChildBroker;
  readonly config: string;
  readonly dataDir: string;
}

export interface ReplicaPair {
  readonly dir: string;
  readonly sshd: Sshd;
  readonly user: string;
  readonly replicas: [Replica, Replica];
  /** The principal of both accords; the admin. */
  readonly alice: PrincipalKey;
  /** The approvers of `ssh-approved`. */
  readonly approvers: PrincipalKey[];
  /** A client of `key` whose requests go to replica `which`. */
  client(which: 0 | 1, key: PrincipalKey): BastionClient;
  /** (Re)starts replica `which` from its config. */
  start(which: 0 | 1): Promise<ChildBroker>;
  /** `bastion audit verify --json` with replica `which`'s configuration. */
  verify(which: 0 | 1): { status: number | null; report: { ok: boolean; problems: unknown[] } };
  stop(): Promise<void>;
}

/** A `fetch` that sends requests for PUBLIC_URL to `url` (the proof still names PUBLIC_URL). */
export function routedFetch(url: () => string): typeof fetch {
  return (input, init) => {
    const target = String(input instanceof Request ? input.url : input);
    return fetch(url() + target.slice(PUBLIC_URL.length), init);
  };
}

function config(
  dir: string,
  databaseUrl: string,
  o: { sshdPort: number; user: string; alice: string; approvers: string[] },
): string {
  const file = join(dir, 'bastion.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
public_url: ${PUBLIC_URL}
log_level: warn
store: ${databaseUrl}
key_encryption_key_file: ${join(dir, '..', 'kek')}
admins: [${o.alice}]
connectors: { ssh: { known_hosts: ${join(dir, '..', 'known_hosts')}, hosts: { "127.0.0.1": { port: ${o.sshdPort} } } } }
backends:
  - kind: dev
accords:
  - id: ssh-ops
    principals: [${o.alice}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ${o.user}
  - id: ssh-approved
    principals: [${o.alice}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ${o.user}
    approvals: { required: 2, approvers: [${o.approvers.join(', ')}] }
  - id: ssh-one-approval
    principals: [${o.alice}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ${o.user}
    approvals: { required: 1, approvers: [${o.approvers.join(', ')}] }
`,
  );
  return file;
}

/** Starts sshd and two replicas on `databaseUrl`, `approvers` approver keys made. */
export async function startReplicas(databaseUrl: string, approvers = 3): Promise<ReplicaPair> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-replicas-'));
  const user = userInfo().username;
  const alice = generatePrincipalKey();
  const approverKeys = Array.from({ length: approvers }, () => generatePrincipalKey());
  const sshd = await startSshd({ caPublicKeys: [], principals: { [user]: [user] } });
  writeFileSync(join(dir, 'known_hosts'), sshd.knownHostsText);
  const dirs = [join(dir, 'a'), join(dir, 'b')];
  // One key-encryption key for both: the signing keys are in the database, under it.
  writeFileSync(join(dir, 'kek'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  for (const d of dirs) mkdirSync(join(d, 'data'), { recursive: true, mode: 0o700 });
  const o = {
    sshdPort: sshd.port,
    user,
    alice: alice.did,
    approvers: approverKeys.map((k) => k.did),
  };
  const configs = dirs.map((d) => config(d, databaseUrl, o));
  const replicas: Replica[] = [];
  const trustBoth = (): void =>
    sshd.setCaKeys(replicas.map((r) => readFileSync(join(r.dataDir, 'dev-ca.pub'), 'utf8').trim()));
  const start = async (which: 0 | 1): Promise<ChildBroker> => {
    const broker = await spawnBroker(configs[which] as string);
    const replica = {
      broker,
      config: configs[which] as string,
      dataDir: join(dirs[which] as string, 'data'),
    };
    replicas[which] = replica;
    if (replicas.length === 2) trustBoth();
    return broker;
  };
  try {
    await start(0);
    await start(1);
  } catch (err) {
    for (const r of replicas) await r.broker.stop();
    await sshd.stop();
    throw err;
  }
  return {
    dir,
    sshd,
    user,
    replicas: replicas as [Replica, Replica],
    alice,
    approvers: approverKeys,
    client: (which, key) =>
      new BastionClient({
        url: PUBLIC_URL,
        key,
        fetch: routedFetch(() => (replicas[which] as Replica).broker.url),
      }),
    start,
    verify: (which) => {
      const run = spawnSync(
        process.execPath,
        [MAIN, 'audit', 'verify', '--config', configs[which] as string, '--json'],
        { encoding: 'utf8' },
      );
      return {
        status: run.status,
        report: JSON.parse(run.stdout) as { ok: boolean; problems: unknown[] },
      };
    },
    stop: async () => {
      for (const r of replicas) await r.broker.stop();
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An SSH invocation on replica 0 held mid-way (its command blocks), as a `kill -9` finds it. */
export interface HeldInvocation {
  readonly acId: string;
  /** What the caller gets: an Error once the replica running it is gone. */
  readonly outcome: Promise<unknown>;
  /** Lets the held command go on (call in `finally`). */
  release(): void;
}

/** Starts an invocation on replica 0 and resolves once its command runs on the sshd. */
export async function holdInvocation(
  pair: ReplicaPair,
  signal: AbortSignal,
): Promise<HeldInvocation> {
  const running = makeFifo(pair.dir, 'running', signal);
  try {
    const issued = await pair.client(0, pair.alice).authorize({
      accord: 'ssh-ops',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['exec'],
      duration_seconds: 300,
    });
    if (issued.status !== 'active') throw new Error('expected an active AC');
    const outcome = pair
      .client(0, pair.alice)
      .invoke('ssh', issued.ac, {
        target: '127.0.0.1',
        operation: { argv: ['sh', '-c', 'echo running > "$0"; exec sleep 60', running.path] },
      })
      .catch((e: unknown) => e);
    if ((await running.line) !== 'running') throw new Error('the command did not start');
    return { acId: issued.ac_id, outcome, release: () => running.release() };
  } catch (err) {
    running.release();
    throw err;
  }
}

/** The id a replica's data directory gives it (`<data_dir>/replica-id`). */
export function replicaIdOf(replica: Replica): string {
  return readFileSync(join(replica.dataDir, 'replica-id'), 'utf8').trim();
}
