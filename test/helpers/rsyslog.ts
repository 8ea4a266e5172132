/**
 * A real syslog collector for the SIEM forwarder's tests: Debian's rsyslogd (package
 * rsyslog, with rsyslog-gnutls for TLS), run in the foreground from a temporary directory,
 * receiving RFC 5424 over TCP (imtcp, octet-counted framing) or TLS (gtls, RFC 5425) on
 * 127.0.0.1 only, and writing each message as it parsed it (its own RFC 5424 parser:
 * PRI, version, timestamp, hostname, app-name, procid, msgid, structured data, msg) to a
 * JSON line of a file.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/base/free-port.js';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

/** A message as rsyslog parsed it. */
export interface Received {
  readonly pri: string;
  readonly version: string;
  readonly ts: string;
  readonly hostname: string;
  readonly app: string;
  readonly procid: string;
  readonly msgid: string;
  readonly sd: string;
  readonly msg: string;
}

export interface Collector {
  readonly port: number;
  /** Every message received so far, in arrival order. */
  received(): Received[];
  /** Resolves once `test` holds for what was received (polled; fails after 30 s). */
  until(test: (got: Received[]) => boolean): Promise<Received[]>;
  /** Starts it again on the same port (after stop), keeping what it received. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  remove(): void;
}

export function rsyslogAvailable(): boolean {
  return existsSync(RSYSLOGD);
}

const TEMPLATE = `template(name="parsed" type="list" option.jsonf="on") {
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="ts" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}`;

export async function startCollector(
  options: { tls?: { caFile: string; certFile: string; keyFile: string } } = {},
): Promise<Collector> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-rsyslog-'));
  const out = join(dir, 'received.jsonl');
  const port = await freePort();
  const tls = options.tls;
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}" maxMessageSize="64k"${
        tls === undefined
          ? ''
          : ` defaultNetstreamDriverCAFile="${tls.caFile}" defaultNetstreamDriverCertFile="${tls.certFile}" defaultNetstreamDriverKeyFile="${tls.keyFile}"`
      })`,
      tls === undefined
        ? 'module(load="imtcp")'
        : 'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")',
      `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="collect")`,
      TEMPLATE,
      `ruleset(name="collect") { action(type="omfile" file="${out}" template="parsed") }`,
    ].join('\n') + '\n',
  );
  const check = spawnSync(RSYSLOGD, ['-N1', '-f', conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`rsyslogd refused its configuration: ${check.stderr}`);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    // Ready once it accepts a connection (polled: rsyslogd says nothing when it listens).
    for (let i = 0; ; i += 1) {
      if (exited) throw new Error('rsyslogd exited at start');
      if (await accepts(port)) return;
      if (i > 600) throw new Error('rsyslogd did not listen');
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const received = (): Received[] => {
    if (!existsSync(out)) return [];
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Received);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    received,
    async until(test) {
      for (let i = 0; ; i += 1) {
        const got = received();
        if (test(got)) return got;
        if (i > 1500)
          throw new Error(`the collector has ${got.length} messages, not what the test waits for`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    restart: start,
    stop,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** True when something accepts a TCP connection on 127.0.0.1:port (closed at once). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
