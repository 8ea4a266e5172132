/**
 * A real MIT Kerberos KDC (krb5kdc 1.20, Debian's) per test file, as the peer of the kerberos
 * backend. Its database is a real OpenLDAP slapd (MIT's `kldap` module), because MIT reads
 * constrained delegation — `krbAllowedToDelegateTo`, what S4U2Proxy checks — only from LDAP:
 * the default db2 module refuses every S4U2Proxy request. Both run in a fresh temporary
 * directory: slapd on a unix socket there (ldapi, no port to collide), krb5kdc on a free
 * 127.0.0.1 port, UDP and TCP (retried on another port if it cannot bind).
 *
 * The realm (default BASTION.TEST): the broker `HTTP/broker.bastion.test` with
 * `+ok_to_auth_as_delegate` (AD: "trust for delegation to specified services only, any
 * authentication protocol") and a delegation list; a second broker with the same list but
 * without that flag (AD: "Kerberos only"), whose S4U2Proxy the KDC refuses; the target
 * services (keytab per host); users `alice` and `bob`; and `sensitive`, whom the KDC will not
 * let be delegated (`-allow_forwardable`: MIT's counterpart of AD's "account is sensitive and
 * cannot be delegated" — its S4U2Self ticket is not forwardable, so S4U2Proxy is refused).
 * Every user needs pre-authentication, as in AD.
 *
 * Processes are killed on `stop()` and when the test process exits; `stop()` removes the
 * directory. `stopKdc()`/`restart()` take the KDC down and bring it back on the same port,
 * for outage and recovery tests. `skipWithoutKdc` skips where the Debian packages are
 * missing, except in CI (scripts/debian-packages.sh installs them there), where that fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { freePort } from '../../src/base/free-port.js';
import { mitEnv, runTool } from './kdc-cli.js';
import {
  KDC_FILES,
  type PrincipalPlan,
  type RealmPlan,
  baseEntryLdif,
  delegationLdif,
  kadminScript,
  kdcConf,
  krb5Conf,
  path,
  serviceKeyfile,
  slapdConf,
} from './kdc-files.js';
import { skipUnlessMissingNone } from './peer-skip.js';

/** The SPNs a broker may delegate to unless told otherwise: one Windows-like target's. */
export const DEFAULT_DELEGATE_TO = [
  'WSMAN/win1.bastion.test',
  'HTTP/win1.bastion.test',
  'host/win1.bastion.test',
] as const;
/** A target service the default list leaves out. */
export const OUTSIDE_SPN = 'host/other.bastion.test';

export interface KdcOptions {
  readonly realm?: string;
  /** SPNs (without realm) in both brokers' `krbAllowedToDelegateTo`. */
  readonly delegateTo?: readonly string[];
  /** Further target SPNs to create (the delegation list's and OUTSIDE_SPN always are). */
  readonly targets?: readonly string[];
  /** The KDC's `clockskew` in seconds (MIT's default: 300). */
  readonly clockSkewSeconds?: number;
  /** The realm's `max_life` in seconds (default 300: the usable window). */
  readonly maxLifeSeconds?: number;
}

export interface KdcService {
  /** With the realm: `HTTP/broker.bastion.test@BASTION.TEST`. */
  readonly principal: string;
  /** Its keys (every enctype), 0600, in the temporary directory. */
  readonly keytab: string;
}

export interface KdcUser {
  readonly principal: string;
  /** Test-only. */
  readonly password: string;
}

export interface Kdc {
  readonly realm: string;
  readonly kdcAddress: { readonly host: '127.0.0.1'; readonly port: number };
  readonly dir: string;
  /** The clients' krb5.conf (this realm only, no DNS). */
  readonly krb5ConfPath: string;
  /** `+ok_to_auth_as_delegate`, delegating to `delegateTo`. */
  readonly broker: KdcService;
  /** The same delegation list, without `ok_to_auth_as_delegate`. */
  readonly brokerKerberosOnly: KdcService;
  readonly delegateTo: readonly string[];
  readonly users: { readonly alice: KdcUser; readonly bob: KdcUser; readonly sensitive: KdcUser };
  /** Host name → a keytab of every SPN of that host (`win1.bastion.test` → WSMAN/, HTTP/, host/). */
  readonly hostKeytabs: Readonly<Record<string, string>>;
  /** The KDC's log so far (parse it with kdc-log.ts). */
  log(): string;
  /** Takes the KDC down (slapd and the realm stay). */
  stopKdc(): Promise<void>;
  /** The KDC down if up, then up again on the same port, optionally with another clock skew. */
  restart(options?: { readonly clockSkewSeconds?: number }): Promise<void>;
  /** Everything down, the temporary directory removed. */
  stop(): Promise<void>;
}

/** Installed files missing for the peer, as `file (package)`. */
export function kdcMissing(): string[] {
  return Object.values(KDC_FILES)
    .filter(([file]) => !existsSync(file))
    .map(([file, pkg]) => `${file} (${pkg})`);
}

/** A describe's `skip`: false when the peer can run, else why (never in CI: that fails). */
export function skipWithoutKdc(): string | false {
  return skipUnlessMissingNone('the test KDC', kdcMissing());
}

// Whatever a test file leaves running dies with it.
const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** What a daemon wrote to stderr (the first 8 KiB: enough to say why it did not start). */
const stderrOf = new WeakMap<ChildProcess, string>();

function launch(file: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // Read it all, so that a chatty daemon never blocks on a full pipe.
  child.stderr?.on('data', (c: Buffer) => {
    const text = stderrOf.get(child) ?? '';
    if (text.length < 8192) stderrOf.set(child, text + c.toString());
  });
  return child;
}

const stderrText = (child: ChildProcess | undefined): string =>
  (child && stderrOf.get(child)) ?? '';

const exited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

function kill(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (child === undefined || exited(child)) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Polls `ready` (bounded) while `child` lives; false when the child died first. */
async function until(child: ChildProcess, ready: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (exited(child)) return false;
    if (await ready()) return true;
    await delay(10); // a poll interval, not a synchronisation: readiness is what ends the loop
  }
  return false;
}

/** True when a connection to `target` (TCP or unix socket) is accepted, at once. */
export function connects(
  target: { port: number; host: string } | { path: string },
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function mustRun(file: string, args: string[], env: Record<string, string>, input = '') {
  const r = await runTool(file, args, env, input);
  if (r.code !== 0) throw new Error(`${file} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

const hostOf = (spn: string): string => spn.slice(spn.indexOf('/') + 1);

export async function startKdc(options: KdcOptions = {}): Promise<Kdc> {
  const realm = options.realm ?? 'BASTION.TEST';
  const delegateTo = [...(options.delegateTo ?? DEFAULT_DELEGATE_TO)];
  const targets = [...new Set([...delegateTo, OUTSIDE_SPN, ...(options.targets ?? [])])];
  const dir = mkdtempSync(join(tmpdir(), 'bastion-kdc-'));
  dirs.add(dir);
  const suffix = `dc=${realm.toLowerCase().split('.').join(',dc=')}`;
  const plan: RealmPlan = {
    dir,
    realm,
    suffix,
    adminDn: `cn=admin,${suffix}`,
    adminPassword: 'test-only-ldap-admin',
    ldapUrl: `ldapi://${encodeURIComponent(join(dir, 'ldapi'))}`,
  };
  const krb5ConfPath = join(dir, 'krb5.conf');
  const kdcConfPath = join(dir, 'kdc.conf');
  const env = { ...mitEnv({ krb5ConfPath }), KRB5_KDC_PROFILE: kdcConfPath };
  let clockSkewSeconds = options.clockSkewSeconds ?? 300;
  const maxLifeSeconds = options.maxLifeSeconds ?? 300;
  let port = 0;
  const writeConfs = (): void => {
    writeFileSync(krb5ConfPath, krb5Conf(realm, port));
    writeFileSync(kdcConfPath, kdcConf(plan, { port, clockSkewSeconds, maxLifeSeconds }));
  };
  let slapd: ChildProcess | undefined;
  let kdc: ChildProcess | undefined;
  const stopAll = async (): Promise<void> => {
    await Promise.all([kill(kdc), kill(slapd)]);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };

  const startKdcProcess = async (): Promise<boolean> => {
    writeConfs();
    const child = launch(path('krb5kdc'), ['-n'], env);
    kdc = child;
    const logFile = join(dir, 'kdc.log');
    const up = new RegExp(`krb5kdc\\[${child.pid}\\]\\(info\\): commencing operation`);
    // Our own "commencing operation" line proves the sockets are ours (not a squatter's).
    const ok = await until(child, async () => {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      return up.test(log) && (await connects({ host: '127.0.0.1', port }));
    });
    if (!ok) await kill(child);
    return ok;
  };

  try {
    writeFileSync(join(dir, 'kerberos.schema'), gunzipSync(readFileSync(path('kerberosSchema'))));
    writeFileSync(join(dir, 'slapd.conf'), slapdConf(plan));
    mkdirSync(join(dir, 'ldapdb'));
    slapd = launch(
      path('slapd'),
      ['-f', join(dir, 'slapd.conf'), '-h', plan.ldapUrl, '-d', '0'],
      env,
    );
    const slapdChild = slapd;
    if (!(await until(slapdChild, () => connects({ path: join(dir, 'ldapi') })))) {
      throw new Error(`slapd did not start: ${stderrText(slapdChild)}`);
    }
    const ldap = ['-x', '-H', plan.ldapUrl, '-D', plan.adminDn, '-w', plan.adminPassword];
    await mustRun(path('ldapadd'), ldap, env, baseEntryLdif(plan));

    port = await freePort();
    writeConfs();
    writeFileSync(join(dir, 'service.keyfile'), serviceKeyfile(plan), { mode: 0o600 });
    await mustRun(
      path('kdb5LdapUtil'),
      [
        ...['-D', plan.adminDn, '-w', plan.adminPassword, '-H', plan.ldapUrl],
        ...['create', '-subtrees', suffix, '-r', realm, '-s', '-P', 'test-only-master-key'],
      ],
      env,
    );

    const user = (name: string, flags: string[] = []): PrincipalPlan => ({
      name,
      flags: ['+requires_preauth', ...flags],
      password: `${name}-test-only-password`,
    });
    const users = [user('alice'), user('bob'), user('sensitive', ['-allow_forwardable'])];
    const broker = 'HTTP/broker.bastion.test';
    const kerberosOnly = 'HTTP/broker-kerberos-only.bastion.test';
    const principals: PrincipalPlan[] = [
      ...users,
      { name: broker, flags: ['+ok_to_auth_as_delegate'] },
      { name: kerberosOnly, flags: [] },
      ...targets.map((name) => ({ name, flags: [] })),
    ];
    const keytabs = new Map<string, string[]>([
      [join(dir, 'broker.keytab'), [broker]],
      [join(dir, 'broker-kerberos-only.keytab'), [kerberosOnly]],
    ]);
    const hostKeytabs: Record<string, string> = {};
    for (const spn of targets) {
      const file = (hostKeytabs[hostOf(spn)] ??= join(dir, `${hostOf(spn)}.keytab`));
      keytabs.set(file, [...(keytabs.get(file) ?? []), spn]);
    }
    const made = await mustRun(path('kadminLocal'), [], env, kadminScript(principals, keytabs));
    const created = made.stdout.match(/^Principal ".*" created\.$/gm) ?? [];
    assert.equal(created.length, principals.length, `kadmin.local: ${made.stdout}${made.stderr}`);
    for (const file of keytabs.keys()) assert.ok(existsSync(file), `kadmin.local wrote ${file}`);

    const lists = new Map([broker, kerberosOnly].map((p) => [p, delegateTo] as const));
    await mustRun(path('ldapmodify'), ldap, env, delegationLdif(plan, lists));

    // The free port may be taken (TCP or UDP) before krb5kdc binds it: try others.
    for (let attempt = 1; !(await startKdcProcess()); attempt++) {
      if (attempt === 5) {
        throw new Error(`krb5kdc did not start: ${stderrText(kdc)}${readKdcLog(dir)}`);
      }
      port = await freePort();
    }

    const service = (principal: string, file: string): KdcService => ({
      principal: `${principal}@${realm}`,
      keytab: join(dir, file),
    });
    const kdcUser = (p: PrincipalPlan): KdcUser => ({
      principal: `${p.name}@${realm}`,
      password: p.password ?? '',
    });
    const [alice, bob, sensitive] = users.map(kdcUser) as [KdcUser, KdcUser, KdcUser];
    return {
      realm,
      kdcAddress: { host: '127.0.0.1', port },
      dir,
      krb5ConfPath,
      broker: service(broker, 'broker.keytab'),
      brokerKerberosOnly: service(kerberosOnly, 'broker-kerberos-only.keytab'),
      delegateTo,
      users: { alice, bob, sensitive },
      hostKeytabs,
      log: () => readKdcLog(dir),
      stopKdc: () => kill(kdc),
      restart: async (again = {}) => {
        await kill(kdc);
        clockSkewSeconds = again.clockSkewSeconds ?? clockSkewSeconds;
        if (!(await startKdcProcess())) {
          throw new Error(`krb5kdc did not restart on ${port}: ${readKdcLog(dir)}`);
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function readKdcLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'kdc.log'), 'utf8');
  } catch {
    return '';
  }
}
