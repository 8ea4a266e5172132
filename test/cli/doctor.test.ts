/**
 * `bastion doctor` as a user runs it: grouped lines with a mark each and a count, or with
 * --json the stable array of checks; exit 0 when nothing failed (warnings included), 1
 * when something did, 2 for a usage mistake.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHECK_GROUPS } from '../../src/doctor/check.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { bastionAsync } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-doctor-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Check {
  id: string;
  group: string;
  status: string;
  message: string;
  detail?: string[];
}

function configFile(name: string, broker: TestBroker, accords: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `data_dir: ${broker.dataDir}
backends:
  - kind: dev
accords:
${accords}`,
    { mode: 0o600 },
  );
  return file;
}

describe('bastion doctor', () => {
  let broker: TestBroker;
  let healthy = '';
  let broken = '';
  before(async () => {
    broker = await startTestBroker();
    await broker.close();
    const accord = (id: string, connector: string) => `  - id: ${id}
    principals: [${broker.keys.alice.did}]
    connectors: [${connector}]
    targets: [db1.internal.test]
    capabilities: [exec]
    ssh_login: ops
    max_duration: 5m
`;
    healthy = configFile('healthy.yaml', broker, accord('ops', 'ssh'));
    broken = configFile('broken.yaml', broker, accord('ops', 'sssh'));
  });

  it('needs --config or --data-dir (exit 2)', async () => {
    const r = await bastionAsync(['doctor']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--data-dir or --config/);
  });

  it('a healthy deployment exits 0, warnings and all; lines grouped, marked and counted', async () => {
    const r = await bastionAsync(['doctor', '--config', healthy, '--offline']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^config:\n {2}\[ok\] {3}configuration .*healthy\.yaml: loads$/m);
    assert.match(r.stdout, /^ {2}\[warn\] witness: none configured/m);
    assert.match(r.stdout, /^ {2}\[skip\] SSH targets: not measurable/m);
    assert.match(r.stdout, /^doctor: 0 failed, \d+ warnings, \d+ ok, \d+ skipped$/m);
    const groups = [...r.stdout.matchAll(/^([a-z]+):$/gm)].map((m) => m[1]);
    assert.deepEqual(
      groups,
      CHECK_GROUPS.filter((g) => groups.includes(g)),
    );
  });

  it('--json: an array of {id, group, status, message, detail?}; a failed check exits 1', async () => {
    const r = await bastionAsync(['doctor', '--config', broken, '--offline', '--json']);
    assert.equal(r.status, 1, r.stderr);
    const checks = JSON.parse(r.stdout) as Check[];
    assert.ok(Array.isArray(checks));
    for (const c of checks) {
      assert.deepEqual(
        Object.keys(c).filter((k) => k !== 'detail'),
        ['id', 'group', 'status', 'message'],
      );
      assert.ok(['ok', 'warn', 'fail', 'skipped'].includes(c.status));
      assert.ok(c.id.startsWith(`${c.group}.`));
    }
    const accord = checks.find((c) => c.id === 'config.accord.ops');
    assert.equal(accord?.status, 'fail');
    assert.match(accord?.detail?.[0] ?? '', /connectors sssh: no such connector/);
    assert.equal(checks.find((c) => c.id === 'audit.trail')?.status, 'ok');
  });

  it('a configuration that does not load is one failed check, said in the loader words', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'accords: [1]\n');
    const r = await bastionAsync(['doctor', '--config', bad, '--json']);
    assert.equal(r.status, 1);
    const checks = JSON.parse(r.stdout) as Check[];
    assert.deepEqual(
      checks.map((c) => [c.id, c.status]),
      [['config.load', 'fail']],
    );
  });

  it("the README's sample: its config and commands groups are what the doctor prints", async () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## `bastion doctor`\n');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const sample = /```text\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const file = join(dir, 'readme.yaml');
    writeFileSync(file, yaml.replaceAll('did:key:z6Mk...alice', broker.keys.alice.did));
    const r = await bastionAsync(['doctor', '--config', file, '--offline']);
    // The two groups that do not depend on the machine; the loads line names the path.
    const groups = (text: string) =>
      text
        .slice(text.indexOf('config:\n'), text.indexOf('backends:\n'))
        .split('\n')
        .filter((line) => !/configuration .*: loads$/.test(line));
    assert.ok(sample.includes('commands:\n'));
    assert.deepEqual(groups(r.stdout), groups(sample));
  });
});
