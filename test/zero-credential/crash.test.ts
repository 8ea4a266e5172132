/**
 * `kill -9` of the broker during an invocation: after a restart nothing of the credential
 * is on disk, and the audit shows the interrupted invocation.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BastionClient } from '../../src/client/client.js';
import { sshString } from '../../src/ssh/wire.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { MAIN, spawnBroker } from '../helpers/child-broker.js';
import { newMarker } from '../helpers/leak.js';
import { needle, scanDir } from '../helpers/scan.js';
import { startSshd } from '../helpers/sshd.js';

describe('a broker killed mid-invocation', () => {
  it('leaves no credential on disk, and the audit shows the interrupted invocation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-crash-'));
    const dataDir = join(dir, 'data');
    const user = userInfo().username;
    const alice = generatePrincipalKey();
    const marker = newMarker();
    const sshd = await startSshd({ caPublicKeys: [], principals: { [user]: [user] } });
    writeFileSync(join(dir, 'known_hosts'), sshd.knownHostsText);
    writeFileSync(
      join(dir, 'bastion.yaml'),
      `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: warn
admins: [${alice.did}]
connectors: { ssh: { known_hosts: ${join(dir, 'known_hosts')}, hosts: { "127.0.0.1": { port: ${sshd.port} } } } }
backends:
  - kind: dev
accords:
  - id: ssh-ops
    principals: [${alice.did}]
    connectors: [ssh]
    targets: ["127.0.0.1"]
    capabilities: [exec]
    max_duration: 15m
    ssh_login: ${user}
`,
    );
    const env = { BASTION_DEV_CREDENTIAL_MARKER: marker };
    let broker = await spawnBroker(join(dir, 'bastion.yaml'), { env });
    try {
      sshd.setCaKeys([readFileSync(join(dataDir, 'dev-ca.pub'), 'utf8').trim()]);
      const client = new BastionClient({ url: broker.url, key: alice });
      const ac = await client.authorize({
        accord: 'ssh-ops',
        connector: 'ssh',
        target: '127.0.0.1',
        capabilities: ['exec'],
        duration_seconds: 300,
      });
      if (ac.status !== 'active') throw new Error('expected an active AC');
      const running = client
        .invoke('ssh', ac.ac, { target: '127.0.0.1', operation: { argv: ['sleep', '3'] } })
        .catch((e: unknown) => e);
      // Wait until the command runs on the target (sshd logged the certificate login).
      for (let i = 0; i < 100 && !/Accepted publickey/.test(sshd.log()); i++) await sleep(50);
      assert.match(sshd.log(), /Accepted publickey/);
      assert.equal(await broker.stop('SIGKILL'), null);
      assert.ok((await running) instanceof Error, 'the caller saw the connection drop');

      broker = await spawnBroker(join(dir, 'bastion.yaml'), { env });
      const after = new BastionClient({ url: broker.url, key: alice });
      const { entries } = await after.audit({ ac_id: ac.ac_id });
      const start = entries.find((e) => e.type === 'invoke_start');
      const interrupted = entries.find((e) => e.type === 'invoke_interrupted');
      assert.ok(start && interrupted, 'the audit shows the interrupted invocation');
      assert.equal(interrupted.invocation_id, start.invocation_id);
      assert.equal(
        entries.some((e) => e.type === 'invoke_end'),
        false,
      );

      const verify = spawnSync(
        process.execPath,
        [MAIN, 'audit', 'verify', '--data-dir', dataDir, '--json'],
        { encoding: 'utf8' },
      );
      const report = JSON.parse(verify.stdout) as { ok: boolean; problems: unknown[] };
      assert.deepEqual(report.problems, []);

      // Control, then the scan: the key (by its marker) is nowhere in the data directory.
      const keyComment = needle('ssh private key', sshString(`bastion-ephemeral ${marker}`));
      const control = mkdtempSync(join(tmpdir(), 'bastion-control-'));
      writeFileSync(
        join(control, 'x'),
        Buffer.concat([Buffer.from('pad'), sshString(`bastion-ephemeral ${marker}`)]),
      );
      assert.deepEqual(
        scanDir(control, [keyComment]).flatMap((f) => f.found),
        ['ssh private key'],
      );
      const files = scanDir(dataDir, [keyComment, needle('marker', marker)]);
      assert.ok(files.length >= 3);
      assert.deepEqual(
        files.filter((f) => f.found.length > 0),
        [],
      );
    } finally {
      await broker.stop();
      await sshd.stop();
    }
  });
});
