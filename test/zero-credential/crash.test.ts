/**
 * `kill -9` of the broker during an invocation: after a restart nothing of the credential
 * is on disk — not in the data directory, nor in any file changed since the start in the
 * temp directory, the broker's working directory or $HOME; the key searched for as its
 * PEM and its seed, in every encoding — and the audit shows the interrupted invocation.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import {
  MAIN,
  spawnBroker,
  SSH_OPS_REQUEST,
  writeSshBrokerConfig,
} from '../helpers/child-broker.js';
import { makeFifo } from '../helpers/fifo.js';
import { newMarker } from '../helpers/leak.js';
import { addSshKeyControls, type Kind, keyComment, NeedleBook } from '../helpers/needles.js';
import { scanFiles } from '../helpers/scan.js';
import { startSshd } from '../helpers/sshd.js';

describe('a broker killed mid-invocation', () => {
  it('leaves no credential on disk, and the audit shows the interrupted invocation', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-crash-'));
    const dataDir = join(dir, 'data');
    const user = userInfo().username;
    const alice = generatePrincipalKey();
    const marker = newMarker();
    const sshd = await startSshd({ caPublicKeys: [], principals: { [user]: [user] } });
    const config = writeSshBrokerConfig(dir, {
      sshdPort: sshd.port,
      knownHosts: sshd.knownHostsText,
      principal: alice.did,
      login: user,
      admin: true,
    });
    const env = { BASTION_DEV_CREDENTIAL_MARKER: marker };
    const brokerCwd = join(dir, 'cwd');
    mkdirSync(brokerCwd);
    const started = Date.now();
    let broker = await spawnBroker(config, { env, cwd: brokerCwd, probe: true });
    const probe = broker.probe;
    const running = makeFifo(dir, 'running', t.signal);
    const homeControl = join(homedir(), `.bastion-crash-control-${randomBytes(6).toString('hex')}`);
    try {
      sshd.setCaKeys([readFileSync(join(dataDir, 'dev-ca.pub'), 'utf8').trim()]);
      const client = new BastionClient({ url: broker.url, key: alice });
      const ac = await client.authorize(SSH_OPS_REQUEST);
      if (ac.status !== 'active') throw new Error('expected an active AC');
      // The command tells the test, through a FIFO, when it runs on the target.
      const invocation = client
        .invoke('ssh', ac.ac, {
          target: '127.0.0.1',
          operation: { argv: ['sh', '-c', 'echo running > "$0"; exec sleep 3', running.path] },
        })
        .catch((e: unknown) => e);
      assert.equal(await running.line, 'running');
      const [pem] = (await probe?.keysReported(1)) ?? [];
      assert.ok(pem, 'the probe reported the key in use');
      assert.equal(await broker.stop('SIGKILL'), null);
      assert.ok((await invocation) instanceof Error, 'the caller saw the connection drop');

      broker = await spawnBroker(config, { env, cwd: brokerCwd });
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

      // The key, as its PEM, its seed and its marked comment, in every encoding; and controls.
      const book = new NeedleBook();
      const kinds: Kind[] = ['marker', 'ssh key PEM', 'ssh key seed', 'ssh key comment'];
      book.add('marker', marker);
      book.add('ssh key comment', keyComment(marker));
      book.sshKey(pem, 'the interrupted invocation');
      await addSshKeyControls(book);
      const planted = [join(mkdtempSync(join(tmpdir(), 'bastion-control-')), 'x'), homeControl];
      for (const file of planted) writeFileSync(file, book.planted(kinds));

      const files = scanFiles(
        [dataDir, brokerCwd, tmpdir(), homedir()],
        book.needles(kinds),
        started,
      );
      assert.ok(files.filter((f) => f.file.startsWith(dataDir)).length >= 3);
      for (const file of planted) {
        book.expectControls(files.find((f) => f.file === file)?.found ?? [], kinds, file);
      }
      for (const f of files) book.expectNoCredential(f.found, f.file);
    } finally {
      running.release();
      rmSync(homeControl, { force: true });
      await broker.stop();
      await sshd.stop();
    }
  });
});
