/**
 * The README's walk-through runs as written: its `bastion keygen` lines make the keys, its
 * sample configuration (the DIDs put in, as it says) is what `bastion serve` starts on, and
 * its governance commands, run by a shell with `bastion` on PATH, succeed in order, each
 * `AC_ID` being the one the last `authorize` printed. The one change made: the broker
 * listens on a free port instead of 8443, and the commands are pointed at that port.
 * The Quick start's `npm run demo` is `bastion demo`, run by test/cli/demo.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ChildBroker, MAIN, spawnBroker } from './helpers/child-broker.js';
import { repoRoot } from './helpers/paths.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The fenced blocks of one language in the README's section `heading`, in order. */
function blocks(heading: string, lang: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, heading);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (m) => m[1] ?? '',
  );
}

/** A shell block's commands: continuation lines joined, trailing comments left to the shell. */
function commands(block: string): string[] {
  return block
    .replaceAll('\\\n', ' ')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

describe('README, run as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-readme-'));
  const bin = join(dir, 'bin');
  const dids = new Map<string, string>();
  let broker: ChildBroker | undefined;
  let address = '';

  /** One command line in `dir` through bash, with `bastion` on PATH. */
  function sh(line: string, env: Record<string, string> = {}) {
    const r = spawnSync('bash', ['-c', line.replaceAll('127.0.0.1:8443', address)], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ...env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(() => {
    mkdirSync(bin);
    writeFileSync(join(bin, 'bastion'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
    chmodSync(join(bin, 'bastion'), 0o755);
  });
  after(() => broker?.stop());

  it('"Running the broker": keygen, then serve on the sample configuration', async () => {
    const [start] = blocks('Running the broker', 'sh');
    const lines = commands(start ?? '');
    const keygens = lines.filter((l) => l.startsWith('bastion keygen'));
    assert.ok(keygens.length >= 2, 'keygen lines');
    for (const line of keygens) {
      const r = sh(line);
      assert.equal(r.status, 0, r.stderr);
      const name = /--out (\w+)\.key/.exec(line)?.[1] ?? '';
      dids.set(name, r.stdout.trim());
      assert.match(r.stdout, /^did:key:z6Mk\w+\n$/);
    }
    // The sample configuration, with the DIDs keygen printed where it says to put them.
    const [yaml] = blocks('Running the broker', 'yaml');
    const config = (yaml ?? '')
      .replaceAll(/did:key:z6Mk\.\.\.(\w+)/g, (_, name: string) => dids.get(name) ?? name)
      .replace('listen: 127.0.0.1:8443', 'listen: 127.0.0.1:0');
    assert.doesNotMatch(config, /z6Mk\.\.\./, 'every placeholder has a key');
    const serve = lines.find((l) => l.startsWith('bastion serve'));
    assert.match(serve ?? '', /^bastion serve --config bastion\.yaml\b/);
    writeFileSync(join(dir, 'bastion.yaml'), config);
    broker = await spawnBroker(join(dir, 'bastion.yaml'), { cwd: dir });
    address = new URL(broker.url).host;
  });

  it('"Principals, DPoP and ACs": authorize, show, revoke; a request approved', () => {
    assert.ok(broker, 'the broker started');
    const [walk] = blocks('Principals, DPoP and ACs', 'sh');
    const lines = commands(walk ?? '');
    const exports = lines.filter((l) => l.startsWith('export '));
    assert.ok(exports.length > 0, 'the walk-through says where the broker is');
    const statuses: string[] = [];
    let acId = '';
    for (const line of lines.filter((l) => l.startsWith('bastion '))) {
      const r = sh([...exports, line.replaceAll('AC_ID', acId)].join('\n'));
      assert.equal(r.status, 0, `${line}\n${r.stderr}`);
      // The listings name the AC at hand: alice's own, then the one awaiting bob.
      if (/ (acs|approvals) list /.test(line)) assert.ok(r.stdout.includes(acId), line);
      acId = /^ac_id +(\S+)$/m.exec(r.stdout)?.[1] ?? acId;
      statuses.push(/^status +(\w+)/m.exec(r.stdout)?.[1] ?? '');
    }
    assert.deepEqual(statuses, [
      'active',
      'active',
      '', // acs list
      'revoked',
      'pending_approval',
      '', // approvals list
      'active',
    ]);
  });
});
