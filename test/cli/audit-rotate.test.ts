/**
 * Log rotation of the audit sink without a restart: under a stream of authorizations, the
 * sink file is renamed away (as logrotate does) and `bastion serve` gets SIGHUP; new lines
 * go to a fresh file at the configured path, and between the two files every entry is
 * there exactly once, the renamed one ending where the new one starts. `bastion audit
 * verify` reads the rotated copy beside the sink, and passes; given the new file alone it
 * sees the entries the rotated copy holds as missing from the sink.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { type ChildBroker, spawnBroker } from '../helpers/child-broker.js';
import { bastion } from '../helpers/cli.js';

const alice = generatePrincipalKey();

function entrySeqs(file: string): number[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { seq?: number; checkpoint?: unknown })
    .filter((r) => r.checkpoint === undefined)
    .map((r) => r.seq as number);
}

describe('bastion serve, SIGHUP after the audit sink was renamed away', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-rotate-'));
  const dataDir = join(dir, 'data');
  const sink = join(dataDir, 'audit', 'audit.jsonl');
  const rotated = `${sink}.1`;
  let broker: ChildBroker;
  let acknowledged = 0;

  before(async () => {
    const file = join(dir, 'bastion.yaml');
    writeFileSync(
      file,
      `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: info
accords:
  - id: ops
    principals: [${alice.did}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*.internal.test"]
    capabilities: [read]
    max_duration: 15m
`,
    );
    broker = await spawnBroker(file);
  });
  after(() => broker.stop());

  it('writes new entries to a fresh file, losing and repeating none, and verify follows both', async () => {
    const client = new BastionClient({ url: broker.url, key: alice });
    let stop = false;
    let wake: (() => void) | undefined;
    const traffic = async (): Promise<void> => {
      while (!stop) {
        await client.authorize({
          accord: 'ops',
          connector: 'ssh',
          target: 'web1.internal.test',
          capabilities: ['read'],
          duration_seconds: 60,
        });
        acknowledged += 1;
        wake?.();
      }
    };
    const until = async (n: number): Promise<void> => {
      while (acknowledged < n) await new Promise<void>((r) => (wake = r));
    };
    const loops = [traffic(), traffic(), traffic()];
    await until(20);
    // logrotate's way: rename, then signal; the broker keeps writing the renamed file until then.
    renameSync(sink, rotated);
    const reopened = broker.nextLog(/audit sink reopened/);
    broker.child.kill('SIGHUP');
    await reopened;
    const atReopen = acknowledged;
    await until(atReopen + 20);
    stop = true;
    await Promise.all(loops);
    assert.equal(await broker.stop(), 0);

    assert.equal(statSync(sink).mode & 0o777, 0o600);
    const before = entrySeqs(rotated);
    const afterRotation = entrySeqs(sink);
    assert.ok(before.length >= 20 && afterRotation.length >= 20, 'traffic on both sides');
    const all = [...before, ...afterRotation];
    assert.deepEqual(
      all,
      Array.from({ length: all.length }, (_, i) => i + 1),
      'every seq once, the new file starting where the renamed one ends',
    );
    // Every acknowledged authorization is in the trail (one entry each).
    assert.ok(all.length >= acknowledged, `${all.length} entries for ${acknowledged} acknowledged`);

    const ok = bastion(['audit', 'verify', '--data-dir', dataDir, '--json']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const both = bastion([
      'audit',
      'verify',
      '--data-dir',
      dataDir,
      '--sink',
      rotated,
      '--sink',
      sink,
    ]);
    assert.equal(both.status, 0, both.stdout + both.stderr);
    // The new file alone lacks what the rotated copy holds: verify says so.
    const alone = bastion(['audit', 'verify', '--data-dir', dataDir, '--sink', sink, '--json']);
    assert.equal(alone.status, 1);
    const report = JSON.parse(alone.stdout) as { problems: { kind: string; seq: number }[] };
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.seq]),
      [['sink_mismatch', 1]],
    );
  });
});
