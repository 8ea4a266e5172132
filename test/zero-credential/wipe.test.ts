/**
 * Bastion zero-fills every buffer that held an SSH private key. A `bastion serve` child run
 * as an operator runs it — no allocator poisoning, unlike the proof's broker, so memory it
 * frees keeps its bytes until reused — makes SSH invocations over a real sshd; its probe
 * reports each key its dev backend issued. Before any full GC, its memory holds no key as
 * its PEM or its marked comment, in any encoding, even as garbage (the test fails if the
 * zero-fill is removed). The seed alone is not looked for here: node:crypto keeps it in
 * OpenSSL memory until the KeyObject is collected (the proof checks it after a full GC).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import {
  type ChildBroker,
  spawnBroker,
  SSH_OPS_REQUEST,
  writeSshBrokerConfig,
} from '../helpers/child-broker.js';
import { type Holder, startHolder } from '../helpers/holder.js';
import { newMarker } from '../helpers/leak.js';
import { addSshKeyControls, type Kind, keyComment, NeedleBook } from '../helpers/needles.js';
import { memoryReadable, scanProcessMemory } from '../helpers/scan.js';
import { SSHD_USER, startSshd, type Sshd } from '../helpers/sshd.js';

const KINDS: Kind[] = ['ssh key PEM', 'ssh key comment'];
const RUNS = 3;

describe('SSH key buffers are zero-filled', () => {
  const book = new NeedleBook();
  let sshd: Sshd;
  let broker: ChildBroker;
  let holder: Holder;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-wipe-'));
    const alice = generatePrincipalKey();
    const marker = newMarker();
    sshd = await startSshd({ caPublicKeys: [], principals: { [SSHD_USER]: [SSHD_USER] } });
    const config = writeSshBrokerConfig(dir, {
      sshdPort: sshd.port,
      knownHosts: sshd.knownHostsText,
      principal: alice.did,
      login: SSHD_USER,
    });
    broker = await spawnBroker(config, {
      env: { BASTION_DEV_CREDENTIAL_MARKER: marker },
      probe: true,
    });
    sshd.setCaKeys([readFileSync(join(dir, 'data', 'dev-ca.pub'), 'utf8').trim()]);
    const client = new BastionClient({ url: broker.url, key: alice });
    for (let i = 0; i < RUNS; i++) {
      const ac = await client.authorize(SSH_OPS_REQUEST);
      if (ac.status !== 'active') throw new Error('expected an active AC');
      const r = await client.invoke('ssh', ac.ac, {
        target: '127.0.0.1',
        operation: { argv: ['echo', `run ${i}`] },
      });
      assert.equal(r.result.stdout, `run ${i}\n`);
    }
    const keys = (await broker.probe?.keysReported(RUNS)) ?? [];
    keys.forEach((pem, i) => book.sshKey(pem, `ssh key ${i}`));
    book.add('ssh key comment', keyComment(marker));
    await addSshKeyControls(book);
    holder = await startHolder(book.controls(KINDS));
  });

  after(async () => {
    holder?.stop();
    await broker?.stop();
    await sshd?.stop();
  });

  it("the broker's memory holds no key it issued, as PEM or marked comment, even as garbage", (t) => {
    assert.equal(book.count('ssh key PEM'), RUNS, 'the probe reported each key');
    const control = scanProcessMemory(holder.pid, book.needles(KINDS));
    if (!memoryReadable(t, control)) return;
    book.expectControls(control, KINDS, 'the holder’s memory');
    const found = scanProcessMemory(broker.child.pid ?? 0, book.needles(KINDS));
    if (!memoryReadable(t, found)) return;
    book.expectNoCredential(found, "the broker's memory");
  });
});
