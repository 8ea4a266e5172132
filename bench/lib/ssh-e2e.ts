/**
 * B5 (and B6 in B5): `exec true` over SSH, through Bastion vs directly.
 *
 * One real OpenSSH sshd (test/peers/sshd.sh, as the tests start it) trusts two user CAs:
 * the broker's dev backend, and a benchmark CA that signed one long-lived certificate for
 * a static key. sshd.sh sets `AuthorizedKeysFile none`, so the direct path uses that
 * static certificate: sshd does the same certificate checks on both paths.
 * - A: `POST /connectors/ssh/invoke` through the broker (a pinned child process): verify,
 *   policy, audit, a fresh key pair and certificate, the SSH session, revoke, zero-fill.
 * - B: the OpenSSH client, `ssh -i key -o CertificateFile=… -o BatchMode=yes … true`.
 * - C: the same client limited to curve25519-sha256, the key exchange ssh2 negotiates (the
 *   client's default, a post-quantum hybrid, costs more on both sides): this isolates what
 *   Bastion adds from the choice of key exchange.
 * - D: A with an unbound certificate (#17's cost of binding): the same broker, backend and
 *   sshd through the bench-only `ssh_unbound` connector (bench/lib/ssh-unbound.ts). A's
 *   certificate forces the command and carries the broker's source-address; D's, neither.
 * Interleaved A D B C A D B C, so drift on the machine hits all four alike.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { SSHD_USER, startSshd, type Sshd } from '../../test/helpers/sshd.js';
import { type Placement, sibling, spawnChild } from './child.js';
import { authorizeBody } from './broker.js';
import { UNBOUND_SSH } from './ssh-unbound.js';
import { summarize, type Summary } from './stats.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const SSH = '/usr/bin/ssh';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export type SshResult =
  | { readonly skipped: string }
  | {
      readonly pairs: number;
      readonly bastionMs: Summary;
      readonly opensshMs: Summary;
      readonly ratioMedian: number;
      readonly ratioP99: number;
      /** C: the OpenSSH client with ssh2's key exchange. */
      readonly opensshSameKexMs: Summary;
      readonly ratioMedianSameKex: number;
      readonly ratioP99SameKex: number;
      /** D: through Bastion with an unbound certificate; A is bound. */
      readonly bastionUnboundMs: Summary;
      readonly ratioMedianBound: number;
      readonly ratioP99Bound: number;
      /** The SSH connector's own `duration_ms` for the exec, as the broker reports it. */
      readonly operationMs: Summary;
      readonly dwellMs: Summary;
      readonly liveCredentialsAfter: number;
      readonly brokerRssBytes: number;
      readonly sshVersion: string;
    };

interface ChildStats {
  dwellMs: number[];
  liveCredentials: number;
  rssBytes: number;
}

export async function runSshEndToEnd(
  placement: Placement,
  options: { quick: boolean },
): Promise<SshResult> {
  for (const tool of [SSHD, SSH, SSH_KEYGEN]) {
    if (!existsSync(tool)) {
      return { skipped: `${tool} is missing (apt-get install openssh-server openssh-client)` };
    }
  }
  const pairs = options.quick ? 12 : 60;
  const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-ssh-'));
  const principal = generatePrincipalKey();
  const child = spawnChild(sibling(import.meta.url, '../broker-child'), placement.brokerCore);
  let sshd: Sshd | undefined;
  try {
    // The static credential for the direct path: a key and a certificate from our own CA.
    const ca = join(dir, 'bench_ca');
    const key = join(dir, 'static_key');
    await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-ca', '-f', ca]);
    await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-static', '-f', key]);
    await run(SSH_KEYGEN, [
      '-q',
      '-s',
      ca,
      '-I',
      'bench-static',
      '-n',
      SSHD_USER,
      '-V',
      '-5m:+1h',
      `${key}.pub`,
    ]);

    const { caPublicKey } = await child.call<{ caPublicKey: string }>('ssh:prepare');
    sshd = await startSshd({
      caPublicKeys: [caPublicKey, readFileSync(`${ca}.pub`, 'utf8')],
      principals: { [SSHD_USER]: [SSHD_USER] },
    });
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, sshd.knownHostsText);
    const { url } = await child.call<{ url: string }>('ssh:start', {
      did: principal.did,
      port: sshd.port,
      knownHostsFile,
      login: SSHD_USER,
    });

    const client = new BastionClient({ url, key: principal });
    const issued = await client.authorize(authorizeBody('ssh', '127.0.0.1'));
    if (issued.status !== 'active') throw new Error('bench accord did not issue an SSH AC');
    const token = issued.ac;
    const unbound = await client.authorize(authorizeBody(UNBOUND_SSH, '127.0.0.1'));
    if (unbound.status !== 'active') throw new Error('bench accord did not issue an AC');
    const operationMs: number[] = [];
    const viaBastion = async (bound = true): Promise<number> => {
      const start = performance.now();
      const reply = await client.invoke(bound ? 'ssh' : UNBOUND_SSH, bound ? token : unbound.ac, {
        target: '127.0.0.1',
        operation: { argv: ['true'] },
      });
      const ms = performance.now() - start;
      if (reply.result.exit_code !== 0) throw new Error('exec true failed through Bastion');
      if (bound) operationMs.push(reply.result.duration_ms);
      return ms;
    };
    const sshArgs = [
      '-F',
      '/dev/null',
      '-i',
      key,
      '-o',
      `CertificateFile=${key}-cert.pub`,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${knownHostsFile}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'LogLevel=ERROR',
      '-p',
      String(sshd.port),
      `${SSHD_USER}@127.0.0.1`,
      'true',
    ];
    const direct = async (extra: readonly string[] = []): Promise<number> => {
      const start = performance.now();
      await run(SSH, [...extra, ...sshArgs], { timeout: 30_000 });
      return performance.now() - start;
    };
    const sameKex = ['-o', 'KexAlgorithms=curve25519-sha256@libssh.org,curve25519-sha256'];

    // Warm-up both paths (and check that both work before timing anything).
    for (let i = 0; i < 3; i++) {
      await viaBastion();
      await viaBastion(false);
      await direct();
      await direct(sameKex);
    }
    operationMs.length = 0;
    const before = await child.call<ChildStats>('stats');
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < pairs; i++) {
      a.push(await viaBastion());
      d.push(await viaBastion(false));
      b.push(await direct());
      c.push(await direct(sameKex));
    }
    const after = await child.call<ChildStats>('stats');
    const bastionMs = summarize(a);
    const opensshMs = summarize(b);
    const opensshSameKexMs = summarize(c);
    const bastionUnboundMs = summarize(d);
    const { stderr } = await run(SSH, ['-V']);
    return {
      pairs,
      bastionMs,
      opensshMs,
      ratioMedian: bastionMs.median / opensshMs.median,
      ratioP99: bastionMs.p99 / opensshMs.p99,
      opensshSameKexMs,
      ratioMedianSameKex: bastionMs.median / opensshSameKexMs.median,
      ratioP99SameKex: bastionMs.p99 / opensshSameKexMs.p99,
      bastionUnboundMs,
      ratioMedianBound: bastionMs.median / bastionUnboundMs.median,
      ratioP99Bound: bastionMs.p99 / bastionUnboundMs.p99,
      operationMs: summarize(operationMs),
      dwellMs: summarize(after.dwellMs.slice(before.dwellMs.length)),
      liveCredentialsAfter: after.liveCredentials,
      brokerRssBytes: after.rssBytes,
      sshVersion: stderr.trim(),
    };
  } finally {
    await child.stop();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
