/**
 * The Bascule runtime end to end: a real JWKS server, grants minted with the real signAc,
 * Bascule on 127.0.0.1:0 and on a Unix socket, real commands. Every refusal has its code,
 * every refusal and every run is in the audit file, and the audit verifies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { verifyBasculeAudit } from '../../src/bascule/audit.js';
import { type RunningBascule, startBascule } from '../../src/bascule/runtime.js';
import { ManualClock } from '../../src/base/clock.js';
import {
  brokerKey,
  call,
  exec,
  type JwksServer,
  mintGrant,
  NAME,
  principal,
  startJwksServer,
} from './fixtures.js';
import { makeFifo } from '../helpers/fifo.js';

const dir = mkdtempSync(join(tmpdir(), 'bascule-runtime-'));
const workdir = mkdtempSync(join(tmpdir(), 'bascule-cwd-'));
const auditFile = join(dir, 'audit.jsonl');
const socketAuditFile = join(dir, 'socket-audit.jsonl');
const socketPath = join(dir, 'bascule.sock');
const key = brokerKey('broker-1');
const rotated = brokerKey('broker-2');
const rogue = brokerKey('rogue');
const clock = new ManualClock();
const logLines: string[] = [];
const logs = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString('utf8'));
    done();
  },
});

let jwks: JwksServer;
let tcp: RunningBascule;
let unix: RunningBascule;
/** Every grant sent, to prove none reaches the logs. */
const sent: string[] = [];

async function grant(
  options: Omit<Parameters<typeof mintGrant>[0], 'key' | 'now'> & {
    key?: typeof key;
    now?: number;
  } = {},
): Promise<string> {
  const token = await mintGrant({ key, now: clock.now(), ...options });
  sent.push(token);
  return token;
}

function auditEntries(file: string): Record<string, any>[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
}

before(async () => {
  jwks = await startJwksServer([key.jwk]);
  tcp = await startBascule({
    name: NAME,
    jwksUrl: jwks.url,
    issuer: 'urn:bastion:broker',
    listen: { host: '127.0.0.1', port: 0 },
    auditFile,
    limits: { maxOutputBytes: 1000, timeoutMs: 10_000 },
    cwd: workdir,
    pathEnv: '/usr/bin:/bin',
    clock,
    logDestination: logs,
  });
  unix = await startBascule({
    name: NAME,
    jwksUrl: jwks.url,
    socket: socketPath,
    auditFile: socketAuditFile,
    limits: { maxOutputBytes: 1000, timeoutMs: 300 },
    clock,
    logDestination: logs,
  });
});

after(async () => {
  await tcp.close();
  await unix.close();
  await jwks.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(workdir, { recursive: true, force: true });
});

describe('Bascule runtime', () => {
  it('answers /healthz and says where it listens', async () => {
    assert.match(tcp.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(unix.url, `unix:${socketPath}`);
    const r = await call(tcp.url, { path: '/healthz' });
    assert.deepEqual([r.status, r.body], [200, { status: 'ok' }]);
  });

  it('runs a granted argv and returns its result', async () => {
    const r = await exec(tcp.url, await grant(), ['sh', '-c', 'echo hi; echo err >&2; exit 4']);
    assert.equal(r.status, 200);
    assert.equal(r.body.exit_code, 4);
    assert.equal(r.body.stdout, 'hi\n');
    assert.equal(r.body.stderr, 'err\n');
    assert.equal(r.body.timed_out, false);
    assert.equal(r.body.stdout_truncated, false);
    assert.equal(typeof r.body.duration_ms, 'number');
  });

  it('does not interpolate argv in a shell', async () => {
    const r = await exec(tcp.url, await grant(), ['echo', '$(id)', ';', 'rm']);
    assert.equal(r.status, 200);
    assert.equal(r.body.stdout, '$(id) ; rm\n');
  });

  it('passes stdin', async () => {
    const r = await exec(tcp.url, await grant(), ['cat'], 'line one\nline two\n');
    assert.equal(r.body.stdout, 'line one\nline two\n');
  });

  it('gives commands a clean environment', async () => {
    const saved = { ...process.env };
    process.env['LD_PRELOAD'] = '/nonexistent.so';
    process.env['FOO_SECRET'] = 'x';
    try {
      const r = await exec(tcp.url, await grant(), ['env']);
      assert.equal(r.status, 200);
      const stdout = r.body.stdout as string;
      assert.ok(!stdout.includes('LD_PRELOAD'));
      assert.ok(!stdout.includes('FOO_SECRET'));
      assert.deepEqual(stdout.trim().split('\n').sort(), [
        `HOME=${workdir}`,
        'LANG=C.UTF-8',
        'PATH=/usr/bin:/bin',
      ]);
    } finally {
      process.env = saved;
    }
  });

  it('cuts an output flood at the limit', async () => {
    const r = await exec(tcp.url, await grant(), ['head', '-c', '500000', '/dev/urandom']);
    assert.equal(r.status, 200);
    assert.equal(r.body.stdout_truncated, true);
    assert.equal(r.body.exit_code, 0);
    // 1000 bytes kept; invalid UTF-8 is replaced, so count what came back loosely.
    assert.ok(r.body.stdout.length > 0 && r.body.stdout.length <= 1000);
    const text = await exec(tcp.url, await grant(), ['sh', '-c', 'yes | head -c 100000']);
    assert.equal(text.body.stdout, 'y\n'.repeat(500));
  });

  it('kills a command at the wall-time limit (over the Unix socket)', async () => {
    const r = await exec(unix.url, await grant(), ['sleep', '30']);
    assert.equal(r.status, 200);
    assert.equal(r.body.timed_out, true);
    assert.equal(r.body.exit_code, null);
    assert.equal(r.body.signal, 'SIGKILL');
  });

  it('creates the socket 0600', () => {
    const stat = statSync(socketPath);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
  });

  it('reports a command that is not found', async () => {
    const r = await exec(tcp.url, await grant(), ['no-such-command-bascule']);
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'bascule_command_not_found');
  });

  it('refuses a request without a grant, before reading the body', async () => {
    const none = await call(tcp.url, { body: { argv: ['id'] } });
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, {
      error: {
        code: 'bascule_grant_missing',
        message: 'A Bascule grant is required (Authorization: Bearer)',
      },
    });
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="bascule"');
    const badBody = await call(tcp.url, { rawBody: '{not json' });
    assert.equal(badBody.status, 401);
    const garbage = await call(tcp.url, { grant: 'not.a.jwt', body: { argv: ['id'] } });
    assert.deepEqual([garbage.status, garbage.body.error.code], [401, 'ac_malformed']);
  });

  it('refuses a replayed grant', async () => {
    const g = await grant();
    assert.equal((await exec(tcp.url, g, ['true'])).status, 200);
    const again = await exec(tcp.url, g, ['true']);
    assert.equal(again.status, 401);
    assert.equal(again.body.error.code, 'bascule_grant_replayed');
    const third = await exec(tcp.url, g, ['true']);
    assert.equal(third.body.error.code, 'bascule_grant_replayed');
  });

  it('refuses an expired grant, and one from the future', async () => {
    const expired = await grant({ now: clock.now() - 120_000 });
    const r = await exec(tcp.url, expired, ['true']);
    assert.deepEqual([r.status, r.body.error.code], [401, 'ac_expired']);
    const future = await grant({ now: clock.now() + 120_000 });
    const f = await exec(tcp.url, future, ['true']);
    assert.deepEqual([f.status, f.body.error.code], [401, 'ac_not_yet_valid']);
  });

  it('refuses a grant that lives longer than 60 s', async () => {
    const iat = Math.floor(clock.now() / 1000);
    const r = await exec(tcp.url, await grant({ claims: { exp: iat + 61 } }), ['true']);
    assert.deepEqual([r.status, r.body.error.code], [401, 'bascule_grant_lifetime']);
  });

  it('refuses a grant for another name or another issuer', async () => {
    const otherAud = await grant({ claims: { aud: 'urn:bastion:bascule:db1.internal.test' } });
    const a = await exec(tcp.url, otherAud, ['true']);
    assert.deepEqual([a.status, a.body.error.code], [401, 'ac_wrong_audience']);
    const otherTarget = await grant({ ctx: { target: 'db1.internal.test' } });
    const t = await exec(tcp.url, otherTarget, ['true']);
    assert.deepEqual([t.status, t.body.error.code], [403, 'bascule_wrong_target']);
    const broker = await grant({ claims: { aud: 'urn:bastion:connectors' } });
    const b = await exec(tcp.url, broker, ['true']);
    assert.equal(b.body.error.code, 'ac_wrong_audience');
    const iss = await grant({ claims: { iss: 'urn:evil' } });
    assert.equal((await exec(tcp.url, iss, ['true'])).body.error.code, 'ac_wrong_issuer');
  });

  it('refuses a grant whose connector is not bascule', async () => {
    const r = await exec(tcp.url, await grant({ ctx: { connector: 'ssh' } }), ['true']);
    assert.deepEqual([r.status, r.body.error.code], [403, 'bascule_wrong_target']);
  });

  it('refuses a grant without the exec capability', async () => {
    const g = await grant({ ctx: { capabilities: ['read'], capability_mask: 1 } });
    const r = await exec(tcp.url, g, ['true']);
    assert.deepEqual([r.status, r.body.error.code], [403, 'bascule_capability_missing']);
    const lying = await grant({ ctx: { capabilities: ['read'], capability_mask: 3 } });
    assert.equal((await exec(tcp.url, lying, ['true'])).body.error.code, 'ac_claims_invalid');
  });

  it('applies the command policy the grant carries', async () => {
    const commands = { allow: ['echo *', 'uptime', 'rm *'], deny: ['echo *secret*', 'rm -rf *'] };
    const ok = await exec(tcp.url, await grant({ ctx: { commands } }), ['echo', 'hello']);
    assert.deepEqual([ok.status, ok.body.stdout], [200, 'hello\n']);
    const denied = await exec(tcp.url, await grant({ ctx: { commands } }), [
      'echo',
      'a secret here',
    ]);
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'bascule_command_denied']);
    assert.equal(denied.body.error.message, 'The command policy does not allow this command');
    const notAllowed = await exec(tcp.url, await grant({ ctx: { commands } }), ['id']);
    assert.deepEqual(
      [notAllowed.status, notAllowed.body.error.code],
      [403, 'bascule_command_denied'],
    );
    // An empty element would make `rm  -rf /x`, which `rm -rf *` does not match.
    for (const argv of [
      ['rm', '', '-rf', '/nonexistent-bascule'],
      ['rm', ' -rf', '/nonexistent-bascule'],
      ['rm', '-rf  /nonexistent-bascule'],
    ]) {
      const sneaky = await exec(tcp.url, await grant({ ctx: { commands } }), argv);
      assert.equal(sneaky.body.error.code, 'bascule_command_denied', JSON.stringify(argv));
    }
    const newline = await exec(tcp.url, await grant({ ctx: { commands } }), ['echo', 'a\nid']);
    assert.equal(newline.body.error.code, 'bascule_command_denied');
    // Without a policy, an empty argument is just an argument.
    const free = await exec(tcp.url, await grant(), ['printf', '[%s]', '']);
    assert.deepEqual([free.status, free.body.stdout], [200, '[]']);
  });

  it('refuses unknown fields, bad argv and oversized or non-JSON bodies', async () => {
    const extra = await call(tcp.url, {
      grant: await grant(),
      body: { argv: ['true'], env: { LD_PRELOAD: '/x.so' } },
    });
    assert.deepEqual([extra.status, extra.body.error.code], [400, 'invalid_request']);
    for (const body of [
      { argv: [] },
      { argv: 'true' },
      { argv: [1] },
      { argv: ['x'.repeat(4097)] },
      { argv: Array.from({ length: 257 }, () => 'a') },
      { stdin: 'x' },
      { argv: ['true'], stdin: 1 },
    ]) {
      const r = await call(tcp.url, { grant: await grant(), body });
      assert.deepEqual(
        [r.status, r.body.error.code],
        [400, 'invalid_request'],
        JSON.stringify(body).slice(0, 80),
      );
    }
    const emptyCommand = await exec(tcp.url, await grant(), ['', 'x']);
    assert.deepEqual(
      [emptyCommand.status, emptyCommand.body.error.code],
      [400, 'bascule_argv_invalid'],
    );
    const nul = await exec(tcp.url, await grant(), ['echo', 'a\u0000b']);
    assert.deepEqual([nul.status, nul.body.error.code], [400, 'bascule_argv_invalid']);
    const big = await call(tcp.url, {
      grant: await grant(),
      body: { argv: ['cat'], stdin: 'x'.repeat(70 * 1024) },
    });
    assert.deepEqual([big.status, big.body.error.code], [413, 'payload_too_large']);
    const text = await call(tcp.url, {
      grant: await grant(),
      rawBody: '{"argv":["id"]}',
      contentType: 'text/plain',
    });
    assert.deepEqual([text.status, text.body.error.code], [415, 'unsupported_media_type']);
    const proto = await call(tcp.url, {
      grant: await grant(),
      rawBody: '{"argv":["id"],"__proto__":{"x":1}}',
    });
    assert.equal(proto.status, 400);
  });

  it('refreshes the JWKS once for an unknown kid, then refuses; picks up a rotated key', async () => {
    clock.advance(11_000);
    const base = jwks.fetches;
    const r = await exec(tcp.url, await grant({ key: rogue }), ['id']);
    assert.deepEqual([r.status, r.body.error.code], [401, 'ac_unknown_key']);
    assert.equal(jwks.fetches, base + 1);
    // More unknown kids within the interval: refused without touching the broker.
    for (let i = 0; i < 5; i += 1) {
      const again = await exec(tcp.url, await grant({ key: rogue }), ['id']);
      assert.equal(again.body.error.code, 'ac_unknown_key');
    }
    assert.equal(jwks.fetches, base + 1);
    // A rogue key that reuses the broker's kid fails on the signature.
    const forged = await exec(tcp.url, await grant({ key: { ...rogue, kid: key.kid } }), ['id']);
    assert.equal(forged.body.error.code, 'ac_bad_signature');

    jwks.keys = [key.jwk, rotated.jwk];
    clock.advance(11_000);
    const ok = await exec(tcp.url, await grant({ key: rotated }), ['echo', 'rotated']);
    assert.deepEqual([ok.status, ok.body.stdout], [200, 'rotated\n']);
    assert.equal(jwks.fetches, base + 2);
  });

  it('audits every refusal and every run, and the audit verifies', async () => {
    const entries = auditEntries(auditFile);
    const denies = entries.filter((e) => e.type === 'deny').map((e) => e.outcome as string);
    for (const code of [
      'bascule_grant_missing',
      'ac_malformed',
      'bascule_grant_replayed',
      'ac_expired',
      'ac_not_yet_valid',
      'bascule_grant_lifetime',
      'ac_wrong_audience',
      'ac_wrong_issuer',
      'bascule_wrong_target',
      'bascule_capability_missing',
      'ac_claims_invalid',
      'bascule_command_denied',
      'invalid_request',
      'bascule_argv_invalid',
      'payload_too_large',
      'unsupported_media_type',
      'ac_unknown_key',
      'ac_bad_signature',
    ]) {
      assert.ok(denies.includes(code), `no deny entry for ${code}`);
    }
    const starts = entries.filter((e) => e.type === 'exec_start');
    const ends = entries.filter((e) => e.type === 'exec_end');
    assert.equal(starts.length, ends.length);
    assert.ok(starts.length >= 10);
    for (const start of starts) {
      const end = ends.find((e) => e.grant_jti === start.grant_jti);
      assert.ok(end, `no exec_end for ${start.grant_jti}`);
      assert.equal(start.principal, principal.did);
      assert.equal(start.ac_id, '6f1c2b9e-0000-4000-8000-00000000000a');
      assert.equal(start.target, NAME);
      assert.ok(Array.isArray(start.detail.argv));
    }
    const first = starts[0];
    assert.deepEqual(first?.detail.argv, ['sh', '-c', 'echo hi; echo err >&2; exit 4']);
    const firstEnd = ends.find((e) => e.grant_jti === first?.grant_jti);
    assert.equal(firstEnd?.detail.exit_code, 4);
    assert.equal(firstEnd?.outcome, 'ok');
    const replayed = entries.find((e) => e.outcome === 'bascule_grant_replayed');
    assert.ok(
      starts.some((e) => e.grant_jti === replayed?.grant_jti),
      'replay names its jti',
    );
    const notFound = ends.find((e) => e.outcome === 'bascule_command_not_found');
    assert.ok(notFound);
    // A denied command is audited with what was asked.
    const denied = entries.find((e) => e.type === 'deny' && e.outcome === 'bascule_command_denied');
    assert.deepEqual(denied?.detail.argv, ['echo', 'a secret here']);
    assert.equal(denied?.principal, principal.did);

    assert.equal(statSync(auditFile).mode & 0o777, 0o600);
    const result = await verifyBasculeAudit(auditFile);
    assert.equal(result.ok, true);
    assert.equal(result.entries, entries.length);

    const socketEntries = auditEntries(socketAuditFile);
    const timedOut = socketEntries.find((e) => e.type === 'exec_end');
    assert.equal(timedOut?.detail.timed_out, true);
    assert.equal(timedOut?.detail.exit_code, null);
    assert.equal((await verifyBasculeAudit(socketAuditFile)).ok, true);

    // One edited line is found and named.
    const tampered = join(dir, 'tampered.jsonl');
    const lines = readFileSync(auditFile, 'utf8').split('\n');
    const index = lines.findIndex((line) => line.includes('"exit_code":4'));
    lines[index] = (lines[index] ?? '').replace('"exit_code":4', '"exit_code":0');
    writeFileSync(tampered, lines.join('\n'));
    const bad = await verifyBasculeAudit(tampered);
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.line, index + 1);
  });

  it('never logs a grant', () => {
    const text = logLines.join('');
    assert.ok(text.includes('"bascule exec"'), 'the log is empty');
    assert.ok(sent.length > 20);
    for (const token of sent) {
      assert.ok(!text.includes(token), 'a grant reached the log');
      assert.ok(!text.includes(token.split('.')[2] ?? ''), 'a grant signature reached the log');
    }
  });
});

describe('Bascule start', () => {
  it('refuses a name that is not canonical, or no listener', async () => {
    const base = { jwksUrl: 'http://127.0.0.1:1/jwks', auditFile: join(dir, 'x.jsonl') };
    await assert.rejects(
      startBascule({ ...base, name: 'Web1.Internal.Test', listen: { host: '127.0.0.1', port: 0 } }),
      { code: 'invalid_config' },
    );
    await assert.rejects(startBascule({ ...base, name: NAME }), { code: 'invalid_config' });
    await assert.rejects(
      startBascule({
        ...base,
        name: NAME,
        listen: { host: '127.0.0.1', port: 0 },
        cwd: join(dir, 'missing'),
      }),
      { code: 'invalid_config' },
    );
    await assert.rejects(
      startBascule({
        ...base,
        name: NAME,
        jwksUrl: 'http://broker.example.test/jwks',
        listen: { host: '127.0.0.1', port: 0 },
      }),
      { code: 'invalid_config' },
    );
  });

  it('refuses a live socket path and replaces a dead one; close removes it', async () => {
    await assert.rejects(
      startBascule({
        name: NAME,
        jwksUrl: jwks.url,
        socket: socketPath,
        auditFile: join(dir, 'y.jsonl'),
        logDestination: false,
      }),
      { code: 'invalid_config' },
    );
    const path = join(dir, 'second.sock');
    const first = await startBascule({
      name: NAME,
      jwksUrl: jwks.url,
      socket: path,
      auditFile: join(dir, 'z.jsonl'),
      logDestination: false,
    });
    await first.close();
    assert.throws(() => statSync(path), { code: 'ENOENT' });
    writeFileSync(join(dir, 'regular'), '');
    await assert.rejects(
      startBascule({
        name: NAME,
        jwksUrl: jwks.url,
        socket: join(dir, 'regular'),
        auditFile: join(dir, 'z.jsonl'),
        logDestination: false,
      }),
      { code: 'invalid_config' },
    );
  });

  it('kills running commands on close', async (t) => {
    let r: Awaited<ReturnType<typeof exec>>;
    const path = join(dir, 'closing.sock');
    const b = await startBascule({
      name: NAME,
      jwksUrl: jwks.url,
      socket: path,
      auditFile: join(dir, 'closing.jsonl'),
      clock,
      logDestination: false,
    });
    // The command says, through a FIFO, when it runs; then the runtime closes.
    const running = makeFifo(dir, 'closing.fifo', t.signal);
    try {
      const pending = exec(b.url, await grant(), [
        'sh',
        '-c',
        'echo running > "$0"; exec sleep 30',
        running.path,
      ]);
      assert.equal(await running.line, 'running');
      await b.close();
      r = await pending;
    } finally {
      running.release();
    }
    assert.equal(r.status, 200);
    assert.equal(r.body.exit_code, null);
    assert.equal(r.body.signal, 'SIGKILL');
    const entries = auditEntries(join(dir, 'closing.jsonl'));
    assert.deepEqual(
      entries.map((e) => String(e['type'])),
      ['exec_start', 'exec_end'],
    );
  });
});
