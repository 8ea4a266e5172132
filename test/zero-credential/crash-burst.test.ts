/**
 * `kill -9` of the broker during a burst of concurrent invocations, with group commit on:
 * in a few rounds (the kill point drawn from the property seed) a burst runs against a
 * `bastion serve` child, which is killed once some of its invocations have settled. Then:
 * `bastion audit verify` finds nothing wrong (the sink is written before the database, and a
 * restart puts back what a kill between the two left on the sink only); every
 * invocation the client saw acknowledged has its start, credential_issue and end in the
 * database and on the sink; and every certificate sshd accepted (a credential that reached
 * a transport) has its credential_issue entry in both — durable before the broker handed
 * the credential on, or the kill would have lost it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AUDIT_SINK_FILE } from '../../src/audit/sink.js';
import { BastionClient } from '../../src/client/client.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import {
  type ChildBroker,
  MAIN,
  spawnBroker,
  SSH_OPS_REQUEST,
  writeSshBrokerConfig,
} from '../helpers/child-broker.js';
import { PROPERTY_SEED } from '../helpers/property.js';
import { startSshd } from '../helpers/sshd.js';

const ROUNDS = 3;
// Below sshd's MaxStartups (10), so that no connection is dropped for load.
const BURST = 8;

interface Entry {
  seq: number;
  type: string;
  invocation_id?: string;
  detail?: { fingerprint?: string };
}

describe('a broker killed during a burst of invocations (group commit)', () => {
  it('keeps a valid trail holding every acknowledged invocation and every credential used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-crash-burst-'));
    const dataDir = join(dir, 'data');
    const user = userInfo().username;
    const alice = generatePrincipalKey();
    const sshd = await startSshd({ caPublicKeys: [], principals: { [user]: [user] } });
    const config = writeSshBrokerConfig(dir, {
      sshdPort: sshd.port,
      knownHosts: sshd.knownHostsText,
      principal: alice.did,
      login: user,
    });
    // After how many settled invocations each round's kill comes: the rest are in flight.
    const killAfter = fc.sample(fc.integer({ min: 1, max: BURST - 1 }), {
      seed: PROPERTY_SEED,
      numRuns: ROUNDS,
    });
    const acknowledged: string[] = [];
    let broker: ChildBroker | undefined;
    let sshdLog = '';
    try {
      for (const [round, n] of killAfter.entries()) {
        broker = await spawnBroker(config);
        if (round === 0) sshd.setCaKeys([readFileSync(join(dataDir, 'dev-ca.pub'), 'utf8')]);
        const client = new BastionClient({ url: broker.url, key: alice });
        const ac = await client.authorize(SSH_OPS_REQUEST);
        if (ac.status !== 'active') throw new Error('expected an active AC');
        let settled = 0;
        // Resolved when the n-th invocation of the burst settles, ok or not.
        let wake = (): void => undefined;
        const nth = new Promise<void>((r) => (wake = r));
        const burst = Array.from({ length: BURST }, () =>
          client
            .invoke('ssh', ac.ac, { target: '127.0.0.1', operation: { argv: ['true'] } })
            // Refused or cut off: nothing was acknowledged.
            .then(
              (r) => r.invocation_id,
              () => undefined,
            )
            .finally(() => {
              settled += 1;
              if (settled === n) wake();
            }),
        );
        await nth;
        assert.equal(await broker.stop('SIGKILL'), null, `round ${round}: killed`);
        for (const id of await Promise.all(burst)) if (id !== undefined) acknowledged.push(id);
      }
      // A last start marks the cut-off invocations (before it listens). Its exit code is not
      // checked: serve writes its "listening" line just before it installs its SIGTERM
      // handler, so a stop sent at once can meet the default action.
      broker = await spawnBroker(config);
      await broker.stop();
    } finally {
      await broker?.stop('SIGKILL');
      sshdLog = sshd.log();
      await sshd.stop();
    }

    const cli = (args: string[]): string =>
      spawnSync(process.execPath, [MAIN, 'audit', ...args, '--data-dir', dataDir], {
        encoding: 'utf8',
      }).stdout;
    const report = JSON.parse(cli(['verify', '--json'])) as { problems: { kind: string }[] };
    assert.deepEqual(report.problems, []);
    const onSink = new Set(
      readFileSync(join(dataDir, AUDIT_SINK_FILE), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { seq?: number }).seq),
    );

    const entries = cli(['export'])
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Entry);
    for (const id of acknowledged) {
      const own = entries.filter((e) => e.invocation_id === id);
      for (const type of ['invoke_start', 'credential_issue', 'invoke_end']) {
        assert.ok(
          own.some((e) => e.type === type),
          `acknowledged invocation ${id} has its ${type}`,
        );
      }
      for (const e of own) assert.ok(onSink.has(e.seq), `entry ${e.seq} of ${id} is on the sink`);
    }
    const issued = new Set(
      entries
        .filter((e) => e.type === 'credential_issue' && onSink.has(e.seq))
        .map((e) => e.detail?.fingerprint),
    );
    const used = [...sshdLog.matchAll(/Accepted publickey .* ED25519-CERT (SHA256:\S+)/g)];
    assert.ok(used.length > 0, 'some credentials reached sshd');
    for (const [, fingerprint] of used) {
      assert.ok(issued.has(fingerprint), `credential_issue durable before ${fingerprint} was used`);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
