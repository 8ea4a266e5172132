/**
 * Start-up failures say what failed, where, and the system's reason, with a stable code and
 * exit status 1 (a failure of the work, not of its usage): an address in use (serve, mcp
 * --http, bascule), an address the host does not have, a data directory that is a file,
 * under a file, or on a kernel pseudo-filesystem (refused at once: Node's recursive mkdir
 * spins forever under /proc).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN } from '../helpers/child-broker.js';
import { bastion, bastionAsync } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-startup-'));

function config(name: string, dataDir: string, listen = '127.0.0.1:0'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `listen: ${listen}\ndata_dir: ${dataDir}\naccords: []\n`);
  return file;
}

/** An unreachable JWKS only warns at start (port 1: nothing listens), so the listen fails. */
const BASCULE = [
  'bascule',
  '--name',
  'db1.internal.test',
  '--jwks',
  'http://127.0.0.1:1/.well-known/jwks.json',
  '--audit',
  join(dir, 'bascule-audit.jsonl'),
];

function assertFails(
  r: { status: number | null; stderr: string },
  code: string,
  message: RegExp,
): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^bastion: ${code}: `, 'm'));
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /internal_error/);
}

describe('start-up failures', () => {
  let taken: Server;
  let port = 0;
  before(async () => {
    // A port in use by someone else: a listener of this process, bound before the CLI runs.
    taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    port = (taken.address() as { port: number }).port;
  });
  after(() => new Promise<void>((done) => taken.close(() => done())));

  const inUse = () =>
    new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE \\(address already in use\\)`);

  it('serve: an address in use is named, with EADDRINUSE', async () => {
    const r = await bastionAsync([
      'serve',
      '--config',
      config('in-use', join(dir, 'data-in-use')),
      '--listen',
      `127.0.0.1:${port}`,
    ]);
    assertFails(r, 'listen_failed', inUse());
  });

  it('mcp --http: an address in use is named, with EADDRINUSE', async () => {
    const key = join(dir, 'agent.key');
    assert.equal(bastion(['keygen', '--out', key]).status, 0);
    const r = await bastionAsync(['mcp', '--key', key, '--http', `127.0.0.1:${port}`]);
    assertFails(r, 'listen_failed', inUse());
  });

  it('bascule: an address in use is named, with EADDRINUSE', async () => {
    const r = await bastionAsync([...BASCULE, '--listen', `127.0.0.1:${port}`]);
    assertFails(r, 'listen_failed', inUse());
  });

  it('bascule: a socket path it cannot bind is named, with the errno', async () => {
    const socket = join(dir, 'no-such-directory', 'bascule.sock');
    const r = await bastionAsync([...BASCULE, '--socket', socket]);
    assertFails(
      r,
      'listen_failed',
      // libuv reports a missing directory on bind as EACCES.
      new RegExp(`Cannot listen on ${socket}: EACCES \\(permission denied\\)`),
    );
  });

  it('serve: an address the host does not have is named, with EADDRNOTAVAIL', async () => {
    // 192.0.2.0/24 is TEST-NET-1: no host has it, and binding sends nothing.
    const r = await bastionAsync([
      'serve',
      '--config',
      config('no-such-address', join(dir, 'data-no-address'), '192.0.2.1:0'),
    ]);
    assertFails(
      r,
      'listen_failed',
      /Cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL \(address not available\)/,
    );
  });

  it('serve: a data directory that is a file is named', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await bastionAsync(['serve', '--config', config('file', file)]);
    assertFails(
      r,
      'data_dir_unusable',
      new RegExp(`The data directory ${file} cannot be used: it exists and is not a directory`),
    );
  });

  it('serve: a data directory under a file is named, with ENOTDIR', async () => {
    const file = join(dir, 'a-parent-file');
    writeFileSync(file, '');
    const data = join(file, 'data');
    const r = await bastionAsync(['serve', '--config', config('under-file', data)]);
    assertFails(
      r,
      'data_dir_unusable',
      new RegExp(`The data directory ${data} cannot be used: ENOTDIR \\(not a directory\\)`),
    );
  });

  it('serve: a data directory on a read-only filesystem is named, with EROFS', (t) => {
    // A real read-only mount, in a mount namespace of the CLI's own: nothing else sees it.
    const mountPoint = join(dir, 'read-only');
    mkdirSync(mountPoint);
    const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']);
    if (probe.status !== 0) return t.skip('needs unshare(1) and the right to mount (root)');
    const file = config('read-only', mountPoint);
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t tmpfs -o ro,size=1m tmpfs "$1" && exec "$2" "$3" serve --config "$4"',
        'sh',
        mountPoint,
        process.execPath,
        MAIN,
        file,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assertFails(
      { status: r.status, stderr: r.stderr },
      'data_dir_unusable',
      new RegExp(
        `The data directory ${mountPoint} cannot be used: EROFS \\(read-only file system\\)`,
      ),
    );
  });

  for (const [path, fs] of [
    ['/proc/self/bastion-data', 'proc'],
    ['/sys/kernel/bastion-data', 'sysfs'],
  ] as const) {
    it(`serve: a data directory on ${fs} is refused before any mkdir`, async (t) => {
      if (process.platform !== 'linux') return t.skip('Linux filesystems');
      // Without the check, mkdir -p spins at 100 % CPU under /proc and the CLI never exits.
      const r = await bastionAsync(['serve', '--config', config(`on-${fs}`, path)]);
      assertFails(
        r,
        'data_dir_unusable',
        new RegExp(`The data directory ${path} cannot be used: it is on a ${fs} filesystem`),
      );
    });
  }
});
