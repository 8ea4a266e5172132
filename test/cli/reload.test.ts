/**
 * `bastion serve` reloads its configuration on SIGHUP: a validated file's accords and
 * admins take effect at once, for live ACs too; a file that does not validate changes
 * nothing, and the log says why. Its signal handlers are in place before it says it is
 * listening, so a script that signals it on reading that line is never met by the default
 * action (which would kill it without a shutdown).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BastionClient, BrokerError } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { type ChildBroker, spawnBroker } from '../helpers/child-broker.js';

const alice = generatePrincipalKey();
const bob = generatePrincipalKey();

const config = (dataDir: string, principals: string[]) => `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: info
accords:
  - id: ops
    principals: [${principals.join(', ')}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*.internal.test"]
    capabilities: [read]
    max_duration: 15m
`;

describe('bastion serve, SIGHUP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-reload-'));
  const file = join(dir, 'bastion.yaml');
  let broker: ChildBroker;
  before(async () => {
    writeFileSync(file, config(join(dir, 'data'), [alice.did]));
    broker = await spawnBroker(file);
  });
  after(() => broker.stop());

  it('has its SIGTERM, SIGINT and SIGHUP handlers before it prints the line scripts wait for', async () => {
    // Reports, at the moment the line is written, how many handlers each signal has.
    const preload = `data:text/javascript,${encodeURIComponent(`
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk, ...rest) => {
        if (String(chunk).startsWith('bastion listening')) {
          const n = (s) => process.listenerCount(s);
          process.stderr.write('handlers at listening: ' + [n('SIGTERM'), n('SIGINT'), n('SIGHUP')].join(',') + '\\n');
        }
        return write(chunk, ...rest);
      };`)}`;
    const otherFile = join(dir, 'handlers.yaml');
    writeFileSync(otherFile, config(join(dir, 'data-handlers'), [alice.did]));
    const other = await spawnBroker(otherFile, { nodeArgs: ['--import', preload] });
    try {
      const counts = /handlers at listening: (\d+),(\d+),(\d+)/.exec(other.logs());
      assert.ok(counts, 'the preload saw the line');
      assert.ok(
        counts.slice(1).every((c) => Number(c) >= 1),
        `handlers: ${counts[0]}`,
      );
    } finally {
      await other.stop();
    }
  });

  const authorize = (key = alice) =>
    new BastionClient({ url: broker.url, key }).authorize({
      accord: 'ops',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['read'],
      duration_seconds: 60,
    });

  it('puts a new file in force at once', async () => {
    assert.equal((await authorize()).status, 'active');
    await assert.rejects(
      authorize(bob),
      (e: unknown) => (e as BrokerError).code === 'principal_unknown',
    );
    writeFileSync(file, config(join(dir, 'data'), [bob.did]));
    const reloaded = broker.nextLog(/configuration reloaded/);
    broker.child.kill('SIGHUP');
    await reloaded;
    assert.equal((await authorize(bob)).status, 'active');
    await assert.rejects(
      authorize(),
      (e: unknown) => e instanceof BrokerError && e.code === 'principal_unknown',
    );
  });

  it('keeps the running configuration when the new file does not validate, and says why', async () => {
    writeFileSync(file, config(join(dir, 'data'), [bob.did]).replace('15m', 'forever'));
    const failed = broker.nextLog(/configuration reload failed/);
    broker.child.kill('SIGHUP');
    const line = await failed;
    assert.match(line, /accords\[0\]\.max_duration/);
    assert.equal((await authorize(bob)).status, 'active');
  });
});
