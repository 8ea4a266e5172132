/**
 * An in-process broker for the benchmark: `startServer` exactly as `bastion serve` runs it
 * (durable SQLite in WAL mode with synchronous=FULL, the fsynced audit sink, Fastify with
 * pino at `info`), on 127.0.0.1 with a fresh data directory on the machine's ordinary
 * filesystem; or, with `postgres`, one replica of several on a shared PostgreSQL database.
 * Log lines are formatted but dropped, so that the figures include the cost of
 * logging and not the cost of a terminal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/config.js';
import type { Connector } from '../../src/connectors/connector.js';
import type { CredentialBackend } from '../../src/credentials/backend.js';
import { startServer, type RunningServer } from '../../src/server/app.js';

export const BENCH_TARGET = 'db1.internal.test';
export const BENCH_ACCORD = 'bench';
/** B7's accords: the same API, with a DPoP-bound token and with a bearer token. */
export const DPOP_ACCORD = 'bench-dpop';
export const BEARER_ACCORD = 'bench-bearer';
/** Where the SSH connector's connections come from: each certificate's source-address. */
export const BENCH_SOURCE_ADDRESSES = ['127.0.0.1/32'];
/** Long enough for the longest phase; the accord allows 15 minutes. */
export const AC_SECONDS = 900;

export interface BenchBroker {
  readonly server: RunningServer;
  readonly dataDir: string;
  close(): Promise<void>;
}

export interface BenchBrokerOptions {
  /** DIDs of the benchmark's principals. */
  principals: readonly string[];
  /** The login SSH certificates are issued for. */
  sshLogin?: string | undefined;
  /** SSH connector settings, when B5 needs a real target. */
  ssh?: { port: number; knownHostsFile: string } | undefined;
  backends?: CredentialBackend[] | undefined;
  /** Extra connectors (bench/lib/ssh-unbound.ts), beside the registered kinds. */
  connectors?: Connector[] | undefined;
  /** B7: an oauth_exchange backend and an API reached with the HTTP connector. */
  http?: BenchHttp | undefined;
  /** `info` (the server default) unless told otherwise. */
  logLevel?: string | undefined;
  /** Where the data directory is made; the system's temporary directory by default. */
  parentDir?: string | undefined;
  /** A PostgreSQL store shared by replicas (as test/helpers/replicas.ts configures them). */
  postgres?: PostgresReplica | undefined;
}

export interface PostgresReplica {
  /** `postgres://…` of the database every replica uses. */
  readonly url: string;
  /** The key-encryption key file all replicas share (the signing keys are in the database). */
  readonly kekFile: string;
  /** The balancer's URL, the one DPoP proofs name whichever replica answers. */
  readonly publicUrl: string;
}

export interface BenchHttp {
  /** oidc-provider's token endpoint and issuer (test/helpers/oauth-as.ts, `dpop: true`). */
  readonly tokenEndpoint: string;
  readonly issuer: string;
  /** Its client_secret_basic client and secret. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The API's base URL: the target of both accords. */
  readonly api: string;
}

/** The oauth_exchange backend and the two accords B7 compares (the secret by env name). */
function httpYaml(
  h: BenchHttp,
  principals: readonly string[],
): { backends: string; accords: string } {
  const accord = (id: string, mode: string): string => `
  - id: ${id}
    principals: [${principals.join(', ')}]
    connectors: [http]
    targets: ["${h.api}"]
    capabilities: [read]
    max_duration: 15m
    oauth: { sender_constrained: ${mode} }`;
  return {
    backends: `backends:
  - kind: oauth_exchange
    id: bench-as
    token_endpoint: ${h.tokenEndpoint}
    issuer: ${h.issuer}
    client_id: ${h.clientId}
    client_secret_env: BENCH_AS_SECRET
`,
    accords: accord(DPOP_ACCORD, 'required') + accord(BEARER_ACCORD, 'off'),
  };
}

/** A sink for log lines: pino formats them (a real cost), nothing stores them. */
const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

export async function startBenchBroker(options: BenchBrokerOptions): Promise<BenchBroker> {
  const dataDir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'bastion-bench-'));
  const ssh = options.ssh;
  const pg = options.postgres;
  const http = options.http === undefined ? undefined : httpYaml(options.http, options.principals);
  const yaml = `
listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: ${options.logLevel ?? 'info'}
${pg === undefined ? '' : `store: ${pg.url}\nkey_encryption_key_file: ${pg.kekFile}\npublic_url: ${pg.publicUrl}`}
# The per-principal limit is a guard, not what is measured: set it out of the way.
limits: { rate_per_minute: 1000000000, output_bytes: 65536, exec_timeout: 10s }
${
  ssh === undefined
    ? ''
    : `connectors:
  ssh:
    known_hosts: ${ssh.knownHostsFile}
    hosts: { "127.0.0.1": { port: ${ssh.port} } }
    source_addresses: [${BENCH_SOURCE_ADDRESSES.map((a) => `"${a}"`).join(', ')}]`
}
${http?.backends ?? ''}accords:
  - id: ${BENCH_ACCORD}
    principals: [${options.principals.join(', ')}]
    connectors: [ssh, ssh_unbound, noop]
    targets: ["${BENCH_TARGET}", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["*"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
    ssh_login: ${options.sshLogin ?? 'bench'}${http?.accords ?? ''}
`;
  const config = parseConfig(yaml, join(dataDir, 'bastion.yaml'));
  let server: RunningServer;
  try {
    server = await startServer({
      config,
      logDestination: discard(),
      ...(options.backends !== undefined ? { backends: options.backends } : {}),
      ...(options.connectors !== undefined ? { connectors: options.connectors } : {}),
      ...(options.http !== undefined
        ? { env: { ...process.env, BENCH_AS_SECRET: options.http.clientSecret } }
        : {}),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    dataDir,
    close: async () => {
      try {
        await server.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** The body of `POST /governance/authorize/` every benchmark uses. */
export function authorizeBody(connector: string, target = BENCH_TARGET) {
  return {
    accord: BENCH_ACCORD,
    connector,
    target,
    capabilities: ['exec'],
    duration_seconds: AC_SECONDS,
  };
}
