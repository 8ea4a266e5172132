/**
 * A private PostgreSQL 15 cluster per test process (Debian's binaries, no systemd): initdb
 * into a temporary directory, `pg_ctl start` on a free 127.0.0.1 port with its socket in
 * that directory, trust authentication (nothing but this machine can reach it) and fsync
 * off (functional tests only; a benchmark asks for `durable`). Each test takes a fresh
 * database, and can dump and restore it with the same version's tools. As root the cluster
 * runs as the `postgres` user (initdb refuses root).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../src/base/free-port.js';
import { skipWithoutFile } from './peer-skip.js';
import { testCa } from './x509.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/** False when PostgreSQL 15 is installed, else why the tests skip (fails under CI). */
export function skipWithoutPostgres(): string | false {
  return skipWithoutFile(join(PG_BIN, 'initdb'), 'PostgreSQL 15', 'scripts/debian-packages.sh');
}

export interface PgCluster {
  readonly port: number;
  /** With `tls`: the CA that signed the server's certificate (for 127.0.0.1), as PEM. */
  readonly caPem: string | undefined;
  /** A URL for `database` on this cluster. */
  url(database: string): string;
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
  /** A superuser client of `database`, for what the test does behind the store's back. */
  admin(database: string): Promise<pg.Client>;
  /** `pg_dump --format=custom` of `database` into `file` (this cluster's own version). */
  dump(database: string, file: string): Promise<void>;
  /** Drops and re-creates `database`, then `pg_restore`s `file` into it. */
  restore(database: string, file: string): Promise<void>;
  /** Stops the server as a crash or an outage would (`-m immediate`), keeping its data. */
  down(): Promise<void>;
  /** Starts it again, on the same port, with the same data. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs a PostgreSQL binary, as `postgres` when this process is root; with `cpus`, on those
 * cores (`taskset -c`) whatever this process is pinned to (the server inherits it).
 */
function pgRun(tool: string, args: string[], cpus?: string): Promise<unknown> {
  const bin = [join(PG_BIN, tool), ...args];
  const user = asRoot ? ['runuser', '-u', 'postgres', '--', ...bin] : bin;
  const [cmd = '', ...rest] = cpus === undefined ? user : ['taskset', '-c', cpus, ...user];
  return run(cmd, rest, { timeout: 120_000 });
}

/** A file the server reads, owned by the user it runs as (it refuses a key it does not own). */
function serverFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  if (asRoot) chownSync(path, postgresId('-u'), postgresId('-g'));
}

function postgresId(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}

export interface PgOptions {
  /** Also accept TLS (plain connections still work), certificate for 127.0.0.1 from a throwaway CA. */
  tls?: boolean;
  /** fsync and synchronous_commit on, as a deployment runs (benchmarks); default off. */
  durable?: boolean;
  /** Cores the server runs on (`taskset -c` list), e.g. all of them for a benchmark. */
  cpus?: string | undefined;
}

/** Starts a cluster in the system's temporary directory (a real disk for `durable`). */
export async function startPostgres(options: PgOptions = {}): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-pg-'));
  if (asRoot) chownSync(dir, postgresId('-u'), postgresId('-g'));
  const data = join(dir, 'data');
  let port = 0;
  let caPem: string | undefined;
  let tlsOpts = '';
  let opts = '';
  const start = (): Promise<unknown> =>
    pgRun(
      'pg_ctl',
      ['-D', data, '-l', join(dir, 'pg.log'), '-w', '-o', opts, 'start'],
      options.cpus,
    );
  const halt = (): Promise<unknown> =>
    pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  try {
    if (options.tls === true) {
      const ca = testCa('bastion test PostgreSQL CA');
      const leaf = ca.issue({ ips: ['127.0.0.1'] });
      caPem = ca.certPem;
      ca.remove();
      serverFile(join(dir, 'server.crt'), leaf.certPem);
      serverFile(join(dir, 'server.key'), leaf.keyPem);
      tlsOpts = ` -c ssl=on -c ssl_cert_file=${dir}/server.crt -c ssl_key_file=${dir}/server.key`;
    }
    await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    // The free port may be taken between the probe and the server's bind: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const sync = options.durable === true ? 'fsync=on -c synchronous_commit=on' : 'fsync=off';
      opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c ${sync}${tlsOpts}`;
      try {
        await start();
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = async (database: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    return client;
  };
  let databases = 0;
  let running = true;
  return {
    port,
    caPem,
    url,
    admin,
    async createDatabase() {
      databases += 1;
      const name = `test_${databases}`;
      const client = await admin('postgres');
      try {
        await client.query(`CREATE DATABASE ${name}`); // our own name, not input
      } finally {
        await client.end();
      }
      return url(name);
    },
    async dump(database, file) {
      await run(join(PG_BIN, 'pg_dump'), ['--format=custom', `--file=${file}`, url(database)]);
    },
    async restore(database, file) {
      const client = await admin('postgres');
      try {
        await client.query(`DROP DATABASE ${database}`); // our own name, not input
        await client.query(`CREATE DATABASE ${database}`);
      } finally {
        await client.end();
      }
      await run(join(PG_BIN, 'pg_restore'), [`--dbname=${url(database)}`, file]);
    },
    async down() {
      await halt();
      running = false;
    },
    async up() {
      await start();
      running = true;
    },
    async stop() {
      try {
        if (running) await halt();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
