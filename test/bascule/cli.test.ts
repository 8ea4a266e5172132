/**
 * `bastion bascule` as an operator runs it: a child process that prints one line saying
 * where it listens, serves grants, and closes cleanly on SIGTERM. Option mistakes are
 * refused before anything starts. (main.ts wiring is the lead's; this runs runBascule.)
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyBasculeAudit } from '../../src/bascule/audit.js';
import { runBascule } from '../../src/cli/commands/bascule.js';
import { brokerKey, exec, type JwksServer, mintGrant, startJwksServer } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'bascule-cli-'));
const key = brokerKey('cli-key');
let jwks: JwksServer;

before(async () => {
  jwks = await startJwksServer([key.jwk]);
});
after(async () => {
  await jwks.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The command module next to this test's source (tsx) or build output (tsc). */
const moduleUrl = new URL(
  import.meta.url.endsWith('.ts')
    ? '../../src/cli/commands/bascule.ts'
    : '../../src/cli/commands/bascule.js',
  import.meta.url,
).href;

function startCli(args: string[]): ChildProcess {
  const loader = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const script = `const m = await import(${JSON.stringify(moduleUrl)}); process.exitCode = await m.runBascule(process.argv.slice(1));`;
  return spawn(process.execPath, [...loader, '--input-type=module', '-e', script, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(text.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
  });
}

describe('bastion bascule', () => {
  it('listens on a Unix socket, runs a grant, and stops on SIGTERM', async () => {
    const socket = join(dir, 'cli.sock');
    const audit = join(dir, 'cli-audit.jsonl');
    const child = startCli([
      '--name',
      'Web1.Internal.Test.',
      '--jwks',
      jwks.url,
      '--socket',
      socket,
      '--audit',
      audit,
      '--timeout',
      '5s',
      '--max-output',
      '100',
      '--cwd',
      dir,
      '--path',
      '/usr/bin:/bin',
    ]);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const line = await firstLine(child);
    assert.equal(line, `bascule listening on unix:${socket}`);
    assert.equal(statSync(socket).mode & 0o777, 0o600);

    // --name was canonicalised: grants name web1.internal.test.
    const grant = await mintGrant({ key, now: Date.now() });
    const r = await exec(`unix:${socket}`, grant, ['sh', '-c', 'pwd; head -c 1000 /dev/zero']);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok((r.body.stdout as string).startsWith(`${dir}\n`));
    assert.equal(r.body.stdout_truncated, true);

    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.throws(() => statSync(socket), { code: 'ENOENT' });
    assert.equal((await verifyBasculeAudit(audit)).ok, true);
    assert.ok(stderr.includes('"bascule listening"'));
    assert.ok(!stderr.includes(grant));
  });

  it('refuses option mistakes before starting', async () => {
    const base = ['--jwks', jwks.url, '--audit', join(dir, 'unused.jsonl')];
    const cases: [string[], string][] = [
      [['--listen', '127.0.0.1:0', ...base], 'invalid_argument'],
      [['--name', 'bad name', '--listen', '127.0.0.1:0', ...base], 'invalid_argument'],
      [['--name', 'web1.internal.test', ...base], 'invalid_argument'],
      [
        ['--name', 'web1.internal.test', '--listen', '127.0.0.1:0', '--socket', '/tmp/x', ...base],
        'invalid_argument',
      ],
      [['--name', 'web1.internal.test', '--listen', 'nope', ...base], 'invalid_argument'],
      [
        ['--name', 'web1.internal.test', '--listen', '127.0.0.1:0', '--timeout', '0s', ...base],
        'invalid_argument',
      ],
      [
        ['--name', 'web1.internal.test', '--listen', '127.0.0.1:0', '--timeout', '2d', ...base],
        'invalid_argument',
      ],
      [
        ['--name', 'web1.internal.test', '--listen', '127.0.0.1:0', '--max-output', '-1', ...base],
        'invalid_argument',
      ],
      [
        ['--name', 'web1.internal.test', '--listen', '127.0.0.1:0', '--bogus', ...base],
        'invalid_argument',
      ],
      [
        [
          '--name',
          'web1.internal.test',
          '--listen',
          '127.0.0.1:0',
          '--jwks',
          'http://broker.example.test/jwks',
        ],
        'invalid_config',
      ],
    ];
    for (const [args, code] of cases) {
      await assert.rejects(runBascule(args), { code }, args.join(' '));
    }
  });
});
