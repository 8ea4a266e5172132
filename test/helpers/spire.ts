/**
 * A real SPIRE (server + agent, v{package.json config.spire}) per test file, for the spire
 * backend: built once per machine by test/peers/spire.sh into a cache directory, started
 * here in a fresh temporary directory on 127.0.0.1 and unix sockets only, with the
 * experimental 1 s sync intervals (first SVID in about 2 s instead of 6). The agent attests
 * with a join token; workloads are attested by uid, and every entry names this process's
 * uid, so the test process (and a broker child, same uid) gets every SVID registered.
 *
 * Where SPIRE is not built, the tests skip with a reason, unless `CI` is set: then the
 * suite fails, so that CI cannot pass without them.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Client, credentials, type MethodDefinition } from '@grpc/grpc-js';
import { freePort } from '../../src/base/free-port.js';
import {
  securityHeader,
  WorkloadApiClient,
  workloadService,
} from '../../src/backends/spire/workload-api.js';
import { skipUnlessPresent } from './peer-skip.js';
import { pinnedVersion, TOOLS_CACHE } from './tools.js';

const run = promisify(execFile);

export const SPIRE_VERSION = pinnedVersion('spire');
export const SPIRE_BIN = join(TOOLS_CACHE, `spire-${SPIRE_VERSION}`, 'bin');
export const TRUST_DOMAIN = 'example.org';

/**
 * False when SPIRE is built; else why its tests skip. Throws under CI: there, a missing
 * SPIRE is a broken setup, not a reason to skip.
 */
export function spireSkip(): string | false {
  const built =
    existsSync(join(SPIRE_BIN, 'spire-server')) && existsSync(join(SPIRE_BIN, 'spire-agent'));
  return skipUnlessPresent(
    built
      ? undefined
      : `SPIRE ${SPIRE_VERSION} is not built in ${SPIRE_BIN} (bash test/peers/spire.sh build)`,
  );
}

export interface SpireEntry {
  readonly spiffeId: string;
  /** DNS SANs of its X.509-SVID. */
  readonly dns?: readonly string[];
  readonly jwtTtlSeconds?: number;
  readonly x509TtlSeconds?: number;
}

export interface Spire {
  readonly dir: string;
  /** The agent's Workload API socket. */
  readonly socket: string;
  readonly trustDomain: string;
  /** Registers `entry` for this process's uid and waits until the agent serves it. */
  register(entry: SpireEntry): Promise<void>;
  /** Stops the agent only: its socket goes quiet (the server stays). */
  stopAgent(): Promise<void>;
  /** The server's and the agent's logs so far. */
  logs(): string;
  stop(): Promise<void>;
}

function serverConf(dir: string, port: number): string {
  return `server {
  bind_address = "127.0.0.1"
  bind_port = "${port}"
  socket_path = "${dir}/server.sock"
  trust_domain = "${TRUST_DOMAIN}"
  data_dir = "${dir}/server"
  log_level = "INFO"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
  default_jwt_svid_ttl = "5m"
  experimental { cache_reload_interval = "1s" }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "${dir}/server/datastore.sqlite3"
    }
  }
  KeyManager "disk" { plugin_data { keys_path = "${dir}/server/keys.json" } }
  NodeAttestor "join_token" { plugin_data {} }
}
`;
}

function agentConf(dir: string, port: number): string {
  return `agent {
  data_dir = "${dir}/agent"
  log_level = "INFO"
  server_address = "127.0.0.1"
  server_port = "${port}"
  socket_path = "${dir}/api.sock"
  trust_domain = "${TRUST_DOMAIN}"
  trust_bundle_path = "${dir}/bootstrap.crt"
  experimental { sync_interval = "1s" }
}
plugins {
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
  WorkloadAttestor "unix" { plugin_data {} }
}
`;
}

/** Retries `attempt` until it resolves, at most `limitMs`; then rethrows its last error. */
export async function eventually<T>(
  attempt: () => Promise<T>,
  limitMs: number,
  what: string,
): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > until)
        throw new Error(`${what}: not ready after ${limitMs} ms`, { cause: err });
      // A bounded poll of a peer that tells nobody when it is ready; not a synchronisation.
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startSpire(
  options: { entries?: readonly SpireEntry[] } = {},
): Promise<Spire> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-spire-'));
  mkdirSync(join(dir, 'server'));
  mkdirSync(join(dir, 'agent'));
  const port = await freePort();
  writeFileSync(join(dir, 'server.conf'), serverConf(dir, port));
  writeFileSync(join(dir, 'agent.conf'), agentConf(dir, port));
  const bin = (name: string) => join(SPIRE_BIN, name);
  const children: ChildProcess[] = [];
  const start = (name: string, args: string[]): ChildProcess => {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(bin(name), args, { stdio: ['ignore', log, log] });
    children.push(child);
    return child;
  };
  const server = (args: string[]) =>
    run(bin('spire-server'), [...args, '-socketPath', join(dir, 'server.sock')]);
  const logs = () =>
    ['spire-server', 'spire-agent']
      .map((n) =>
        existsSync(join(dir, `${n}.log`)) ? readFileSync(join(dir, `${n}.log`), 'utf8') : '',
      )
      .join('\n');
  const stop = async () => {
    for (const child of children.reverse()) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    start('spire-server', ['run', '-config', join(dir, 'server.conf')]);
    await eventually(() => server(['healthcheck']), 60_000, 'spire-server');
    const bundle = await server(['bundle', 'show']);
    writeFileSync(join(dir, 'bootstrap.crt'), bundle.stdout);
    const token = /Token: (\S+)/.exec(
      (
        await server([
          'token',
          'generate',
          '-spiffeID',
          `spiffe://${TRUST_DOMAIN}/agent`,
          '-ttl',
          '600',
        ])
      ).stdout,
    )?.[1];
    if (token === undefined) throw new Error('spire-server gave no join token');
    const parentId = `spiffe://${TRUST_DOMAIN}/spire/agent/join_token/${token}`;
    const agent = start('spire-agent', [
      'run',
      '-config',
      join(dir, 'agent.conf'),
      '-joinToken',
      token,
    ]);
    const socket = join(dir, 'api.sock');
    const probe = new WorkloadApiClient({ socket, timeoutMs: 2_000, backend: 'test-probe' });

    const register = async (entry: SpireEntry) => {
      const args = ['entry', 'create', '-parentID', parentId, '-spiffeID', entry.spiffeId];
      args.push('-selector', `unix:uid:${process.getuid?.() ?? 0}`);
      for (const dns of entry.dns ?? []) args.push('-dns', dns);
      if (entry.jwtTtlSeconds !== undefined) args.push('-jwtSVIDTTL', String(entry.jwtTtlSeconds));
      if (entry.x509TtlSeconds !== undefined)
        args.push('-x509SVIDTTL', String(entry.x509TtlSeconds));
      await server(args);
      await eventually(
        () => probe.fetchJwtSvid('spire-test-readiness', entry.spiffeId),
        60_000,
        `an SVID for ${entry.spiffeId}`,
      );
    };
    for (const entry of options.entries ?? []) await register(entry);
    return {
      dir,
      socket,
      trustDomain: TRUST_DOMAIN,
      register,
      stopAgent: () => stopProcess(agent),
      logs,
      stop: async () => {
        probe.close();
        await stop();
      },
    };
  } catch (err) {
    const text = logs();
    await stop();
    throw new Error(`SPIRE did not start: ${String(err)}\n${text.slice(-4000)}`);
  }
}

/** Workload API calls a test's own API makes, as a SPIFFE workload of the same agent. */
export interface TestWorkload {
  /** ValidateJWTSVID: the SVID's SPIFFE ID, or a rejection (e.g. INVALID_ARGUMENT). */
  validate(audience: string, token: string): Promise<string>;
  /** FetchJWTBundles: the trust domain's JWKS. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
  /** FetchX509SVID: the SVID of `spiffeId`, as PEM, with the bundle. */
  x509(spiffeId: string): Promise<{ certPem: string; keyPem: string; bundlePem: string }>;
  close(): void;
}

export function testWorkload(socket: string): TestWorkload {
  const client = new Client(`unix://${socket}`, credentials.createInsecure());
  const service = workloadService();
  const method = (name: string) =>
    service[name] as MethodDefinition<object, Record<string, unknown>>;
  const first = (name: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = method(name);
      const stream = client.makeServerStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        {},
        securityHeader(),
      );
      stream.once('data', (reply: Record<string, unknown>) => {
        resolve(reply);
        stream.cancel();
      });
      stream.on('error', reject);
    });
  const pems = (der: Buffer): string => {
    const out: string[] = [];
    for (let at = 0; at < der.byteLength;) {
      const cert = new X509Certificate(der.subarray(at));
      out.push(cert.toString());
      at += cert.raw.byteLength;
    }
    return out.join('');
  };
  return {
    validate: (audience, token) =>
      new Promise((resolve, reject) => {
        const m = method('ValidateJWTSVID');
        client.makeUnaryRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          { audience, svid: token },
          securityHeader(),
          (err, reply) => (err ? reject(err) : resolve(String(reply?.['spiffe_id']))),
        );
      }),
    jwks: async () => {
      const bundles = (await first('FetchJWTBundles'))['bundles'] as Record<string, Buffer>;
      return JSON.parse(String(bundles[`spiffe://${TRUST_DOMAIN}`])) as {
        keys: Record<string, unknown>[];
      };
    },
    x509: async (spiffeId) => {
      const svids = (await first('FetchX509SVID'))['svids'] as Record<string, Buffer | string>[];
      const svid = svids.find((s) => s['spiffe_id'] === spiffeId);
      if (svid === undefined) throw new Error(`no X.509-SVID for ${spiffeId}`);
      const keyPem = createPrivateKey({
        key: svid['x509_svid_key'] as Buffer,
        format: 'der',
        type: 'pkcs8',
      })
        .export({ format: 'pem', type: 'pkcs8' })
        .toString();
      return {
        certPem: pems(svid['x509_svid'] as Buffer),
        keyPem,
        bundlePem: pems(svid['bundle'] as Buffer),
      };
    },
    close: () => client.close(),
  };
}
