/**
 * The SSH transport against a real OpenSSH sshd (test/peers/sshd.sh) that trusts the real
 * dev backend's CA: exec, stdin, output and time bounds, host key refusals, sshd's own
 * refusals (principal, expiry), the ssh2 certificate patch, and no key on disk.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { ManualClock } from '../../src/base/clock.js';
import { ED25519_CERT } from '../../src/ssh/certificate.js';
import { ed25519PublicKeyLine, rawEd25519PublicKey } from '../../src/ssh/ed25519.js';
import { sshString } from '../../src/ssh/wire.js';
import { Secret } from '../../src/credentials/secret.js';
import { disposeCredential, type SshCertCredential } from '../../src/credentials/types.js';
import { BastionError } from '../../src/base/errors.js';
import { KnownHosts } from '../../src/transports/known-hosts.js';
import { sshExec, type SshExecOptions } from '../../src/transports/ssh/exec.js';
import { shellQuote } from '../../src/transports/ssh/shell-quote.js';
import {
  isCertPatchApplied,
  SSH2_PINNED_VERSION,
  unpatchedAuthPK,
} from '../../src/ssh/ssh2-cert-patch.js';
import { acFor } from '../helpers/backends.js';
import { type Sshd, SSHD_USER, startSshd } from '../helpers/sshd.js';

const require = createRequire(import.meta.url);
const TARGET = '127.0.0.1';
const LIMITS = { maxOutputBytes: 1 << 20, timeoutMs: 20_000 };
// A second host key, never sshd's.
const OTHER_HOST_KEY = ed25519PublicKeyLine(
  rawEd25519PublicKey(generateKeyPairSync('ed25519').privateKey),
  '',
);

let sshd: Sshd;
let dev: DevBackend;
let knownHosts: KnownHosts;
const issued: SshCertCredential[] = [];

async function credential(
  options: { backend?: DevBackend; principals?: string[] } = {},
): Promise<SshCertCredential> {
  const backend = options.backend ?? dev;
  const ac = acFor(TARGET, Date.now(), {
    connector: 'ssh',
    ssh_principals: options.principals ?? [sshd.user],
  });
  const cred = await backend.resolve('ssh_cert', TARGET, ac);
  issued.push(cred);
  return cred;
}

function exec(
  over: Partial<SshExecOptions> & { credential: SshCertCredential },
): ReturnType<typeof sshExec> {
  return sshExec({
    address: '127.0.0.1',
    port: sshd.port,
    hostName: TARGET,
    username: sshd.user,
    knownHosts,
    command: 'true',
    limits: LIMITS,
    ...over,
  });
}

function rejectsWith(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof BastionError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, 502);
    return true;
  };
}

/** Pids of processes whose argv is exactly `argv` (this machine runs the sshd). */
function pidsOf(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8') === want) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) if (cond()) return true;
  return cond();
}

before(async () => {
  dev = await DevBackend.create();
  sshd = await startSshd({
    caPublicKeys: [dev.caPublicKey()],
    principals: { [SSHD_USER]: [SSHD_USER] },
  });
  knownHosts = KnownHosts.parse(sshd.knownHostsText);
});

after(async () => {
  await sshd?.stop();
});

afterEach(() => {
  for (const c of issued.splice(0)) disposeCredential(c);
});

describe('sshExec against a real sshd', () => {
  it('returns stdout, stderr and the exit code, logged in with the certificate', async () => {
    const cred = await credential();
    const r = await exec({ credential: cred, command: `sh -c 'echo out; echo err >&2; exit 3'` });
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.exit_code, 3);
    assert.equal(r.signal, undefined);
    assert.equal(r.stdout_truncated, false);
    assert.equal(r.stderr_truncated, false);
    assert.equal(r.timed_out, false);
    assert.ok(r.duration_ms >= 0 && r.duration_ms < 10_000);
    // sshd says which key it accepted: this certificate, by serial.
    assert.match(
      sshd.log(),
      new RegExp(`Accepted publickey for ${sshd.user} .*ED25519-CERT .*serial ${cred.id}\\b`),
    );
  });

  it('feeds stdin to the command, and runs an argv through shellQuote', async () => {
    const cred = await credential();
    const r = await exec({ credential: cred, command: 'cat', stdin: Buffer.from('hello\n') });
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.exit_code, 0);

    const argv = ['printf', '[%s]', "it's", 'a b', '$HOME', '`id`', '', '*', 'x\ny'];
    const q = await exec({ credential: cred, command: shellQuote(argv) });
    assert.equal(q.stdout, "[it's][a b][$HOME][`id`][][*][x\ny]");
  });

  it('keeps the first maxOutputBytes of a flood and counts the rest', async () => {
    const r = await exec({
      credential: await credential(),
      command: 'yes | head -c 5000000',
      limits: { maxOutputBytes: 1000, timeoutMs: 20_000 },
    });
    assert.equal(r.stdout, 'y\n'.repeat(500));
    assert.equal(r.stdout_truncated, true);
    assert.equal(r.stdout_dropped_bytes, 5_000_000 - 1000);
    assert.equal(r.stderr_truncated, false);
    assert.equal(r.exit_code, 0);
    assert.equal(r.timed_out, false);
  });

  it('closes the channel once both streams are over the limit', async () => {
    const r = await exec({
      credential: await credential(),
      command: `sh -c 'yes >&2 & exec yes'`,
      limits: { maxOutputBytes: 4096, timeoutMs: 20_000 },
    });
    assert.equal(r.stdout.length, 4096);
    assert.equal(r.stderr.length, 4096);
    assert.equal(r.stdout_truncated, true);
    assert.equal(r.stderr_truncated, true);
    assert.equal(r.timed_out, false, 'ended by closing the channel, not by the timeout');
    assert.ok(r.duration_ms < 10_000);
  });

  it('stops a hanging command at the timeout and signals the remote process', async () => {
    const argv = ['sleep', '9.123'];
    const run = exec({
      credential: await credential(),
      command: argv.join(' '),
      limits: { maxOutputBytes: 1000, timeoutMs: 500 },
    });
    assert.ok(await waitFor(() => pidsOf(argv).length > 0, 5000), 'the command started');
    const r = await run;
    assert.equal(r.timed_out, true);
    assert.equal(r.exit_code, null);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.duration_ms >= 500 && r.duration_ms < 5000, String(r.duration_ms));
    if (sshd.user !== 'root') {
      assert.ok(await waitFor(() => pidsOf(argv).length === 0, 3000), 'sshd killed the command');
    } else {
      // OpenSSH turns privilege separation off after a root login, and refuses session
      // signals without it: the request arrives (this line) but the command lives on.
      assert.ok(
        await waitFor(
          () => /session signalling requires privilege separation/.test(sshd.log()),
          3000,
        ),
        'the KILL request reached sshd',
      );
      for (const pid of pidsOf(argv)) process.kill(pid, 'SIGKILL');
    }
  });

  it('stops the command when the signal aborts', async () => {
    const argv = ['sleep', '7.321'];
    const controller = new AbortController();
    const run = exec({
      credential: await credential(),
      command: argv.join(' '),
      signal: controller.signal,
    });
    assert.ok(await waitFor(() => pidsOf(argv).length > 0, 5000), 'the command started');
    controller.abort();
    const r = await run;
    assert.equal(r.timed_out, true);
    assert.equal(r.exit_code, null);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.duration_ms < 5000);
    if (sshd.user !== 'root') {
      assert.ok(await waitFor(() => pidsOf(argv).length === 0, 3000), 'sshd killed the command');
    }
    for (const pid of pidsOf(argv)) process.kill(pid, 'SIGKILL'); // root: see the test above

    const early = await exec({ credential: await credential(), signal: AbortSignal.abort() });
    assert.equal(early.timed_out, true);
    assert.equal(early.signal, undefined, 'nothing was running to kill');
  });

  it('refuses an unknown host key, and a known host on another port, running nothing', async () => {
    const marker = join(tmpdir(), `bastion-ssh-marker-${process.pid}`);
    const cred = await credential();
    for (const text of [
      `[db1.internal.test]:${sshd.port} ${sshd.hostKeyLine}`, // the right key, another name
      `127.0.0.1 ${sshd.hostKeyLine}`, // port 22 only
      `[127.0.0.1]:${sshd.port + 1} ${sshd.hostKeyLine}`,
      '',
    ]) {
      await assert.rejects(
        exec({ credential: cred, knownHosts: KnownHosts.parse(text), command: `touch ${marker}` }),
        rejectsWith('ssh_host_key_unknown'),
        text,
      );
    }
    assert.equal(fs.existsSync(marker), false);
  });

  it('refuses a mismatching and a revoked host key, running nothing', async () => {
    const marker = join(tmpdir(), `bastion-ssh-marker-${process.pid}`);
    const cred = await credential();
    await assert.rejects(
      exec({
        credential: cred,
        knownHosts: KnownHosts.parse(`[127.0.0.1]:${sshd.port} ${OTHER_HOST_KEY}\n`),
        command: `touch ${marker}`,
      }),
      rejectsWith('ssh_host_key_mismatch'),
    );
    // Known with an ECDSA key only; sshd has just Ed25519: a changed key, not a failed handshake.
    const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const ecdsaBlob = Buffer.concat([
      sshString('ecdsa-sha2-nistp256'),
      sshString('nistp256'),
      sshString(ecdsa.subarray(ecdsa.byteLength - 65)),
    ]);
    await assert.rejects(
      exec({
        credential: cred,
        knownHosts: KnownHosts.parse(
          `[127.0.0.1]:${sshd.port} ecdsa-sha2-nistp256 ${ecdsaBlob.toString('base64')}\n`,
        ),
        command: `touch ${marker}`,
      }),
      rejectsWith('ssh_host_key_mismatch'),
    );
    await assert.rejects(
      exec({
        credential: cred,
        knownHosts: KnownHosts.parse(`${sshd.knownHostsText}@revoked * ${sshd.hostKeyLine}\n`),
        command: `touch ${marker}`,
      }),
      rejectsWith('ssh_host_key_revoked'),
    );
    assert.equal(fs.existsSync(marker), false);
    assert.doesNotMatch(sshd.log(), new RegExp(`serial ${cred.id}\\b`));
  });

  it('is refused by sshd for a certificate of another principal', async () => {
    const cred = await credential({ principals: ['mallory'] });
    await assert.rejects(exec({ credential: cred }), rejectsWith('ssh_auth_failed'));
    assert.match(sshd.log(), /authorized principal/i);
  });

  it('refuses an expired credential itself, and sshd refuses its certificate', async () => {
    // A CA whose clock is an hour behind: the certificate expired 59 minutes ago.
    const past = await DevBackend.create({
      id: 'past',
      clock: new ManualClock(Date.now() - 3_600_000),
      ttlMs: 60_000,
    });
    sshd.setCaKeys([dev.caPublicKey(), past.caPublicKey()]);
    try {
      const expired = await credential({ backend: past });
      await assert.rejects(exec({ credential: expired }), rejectsWith('ssh_credential_unusable'));
      // A broker that thinks it is still valid (wrong clock): sshd still says no.
      const misdated = { ...expired, expiresAt: new Date(Date.now() + 60_000) };
      await assert.rejects(exec({ credential: misdated }), rejectsWith('ssh_auth_failed'));
      assert.match(sshd.log(), /expired/);
    } finally {
      sshd.setCaKeys([dev.caPublicKey()]);
    }
  });

  it('refuses disposed, malformed and mismatched credentials before connecting', async () => {
    const disposed = await credential();
    disposed.privateKey.dispose();
    const a = await credential();
    const b = await credential();
    const cases: SshCertCredential[] = [
      disposed,
      { ...a, certificate: `${ED25519_CERT} AAAA` },
      { ...a, certificate: sshd.hostKeyLine },
      { ...a, privateKey: b.privateKey }, // another key than the certificate's
      { ...a, privateKey: Secret.fromString('not a key') },
    ];
    const before = sshd.log().length;
    for (const c of cases) {
      await assert.rejects(exec({ credential: c }), rejectsWith('ssh_credential_unusable'));
    }
    assert.equal(sshd.log().slice(before).includes('Connection from'), false, 'no connection');
  });

  it('maps a closed port to ssh_connect_failed', async () => {
    await assert.rejects(
      exec({ credential: await credential(), port: 1, knownHosts: KnownHosts.parse('') }),
      rejectsWith('ssh_connect_failed'),
    );
  });
});

describe('ssh2 certificate patch', () => {
  it('is applied to the pinned ssh2, and certificate login fails without it', async () => {
    const installed = (require('ssh2/package.json') as { version: string }).version;
    assert.equal(installed, SSH2_PINNED_VERSION);
    assert.equal(isCertPatchApplied(), true);

    const Protocol = require('ssh2/lib/protocol/Protocol.js') as {
      prototype: { authPK: unknown };
    };
    const patched = Protocol.prototype.authPK;
    const cred = await credential();
    Protocol.prototype.authPK = unpatchedAuthPK();
    try {
      assert.equal(isCertPatchApplied(), false);
      // If this starts to pass, ssh2 learned certificates: drop the patch.
      await assert.rejects(exec({ credential: cred }), rejectsWith('ssh_auth_failed'));
    } finally {
      Protocol.prototype.authPK = patched;
    }
    assert.equal(isCertPatchApplied(), true);
    const r = await exec({ credential: cred, command: 'echo patched' });
    assert.equal(r.stdout, 'patched\n', 'the same certificate logs in with the patch');
  });
});

describe('no key on disk', () => {
  it('writes no file while connecting, authenticating and running', async () => {
    const cred = await credential();
    const home = fs.mkdtempSync(join(tmpdir(), 'bastion-ssh-home-'));
    const cjsFs = require('node:fs') as Record<string, unknown> & {
      promises: Record<string, unknown>;
    };
    const writers = [
      'open',
      'openSync',
      'writeFile',
      'writeFileSync',
      'appendFile',
      'appendFileSync',
      'createWriteStream',
      'mkdir',
      'mkdirSync',
      'copyFile',
      'copyFileSync',
    ];
    const calls: string[] = [];
    const saved = new Map<string, unknown>();
    const savedPromises = new Map<string, unknown>();
    const oldHome = process.env['HOME'];
    const oldCwd = process.cwd();
    for (const name of writers) {
      const original = cjsFs[name] as (...args: unknown[]) => unknown;
      saved.set(name, original);
      cjsFs[name] = (...args: unknown[]) => {
        calls.push(name);
        return original(...args);
      };
    }
    for (const name of ['open', 'writeFile', 'appendFile', 'mkdir']) {
      const original = cjsFs.promises[name] as (...args: unknown[]) => unknown;
      savedPromises.set(name, original);
      cjsFs.promises[name] = (...args: unknown[]) => {
        calls.push(`promises.${name}`);
        return original(...args);
      };
    }
    syncBuiltinESMExports();
    process.env['HOME'] = home;
    process.chdir(home);
    let r;
    try {
      r = await exec({ credential: cred, command: 'echo ok' });
    } finally {
      process.chdir(oldCwd);
      if (oldHome === undefined) delete process.env['HOME'];
      else process.env['HOME'] = oldHome;
      for (const [name, fn] of saved) cjsFs[name] = fn;
      for (const [name, fn] of savedPromises) cjsFs.promises[name] = fn;
      syncBuiltinESMExports();
    }
    assert.equal(r.stdout, 'ok\n');
    assert.deepEqual(calls, []);
    assert.deepEqual(fs.readdirSync(home), []);
    fs.rmSync(home, { recursive: true });
    assert.match(sshd.log(), new RegExp(`ED25519-CERT .*serial ${cred.id}\\b`));
  });
});
