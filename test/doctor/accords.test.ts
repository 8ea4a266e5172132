/**
 * Config lint of accords: each rule with a configuration that triggers it and one that
 * passes, parsed by the real loader (what the loader refuses already never reaches here).
 * Each failing case would read `ok` if its rule were removed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { lintAccords } from '../../src/doctor/accords.js';
import type { CheckResult } from '../../src/doctor/check.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';

const alice = generatePrincipalKey().did;
const bob = generatePrincipalKey().did;
const carol = generatePrincipalKey().did;

/** The lint of one accord, given its YAML body (indented under `- id: a`). */
function lint(body: string, extra = ''): CheckResult {
  const yaml = `
data_dir: /tmp/bastion-doctor-unused
${extra}
accords:
  - id: a
    principals: [${alice}]
    max_duration: 5m
${body}`;
  const [only] = lintAccords(parseConfig(yaml, '/tmp/bastion.yaml'));
  assert.ok(only);
  return only;
}

describe('doctor: accords that can never be used', () => {
  it('an accord that fits its connector is ok', () => {
    const r = lint(`    connectors: [ssh]
    targets: [db1.internal.test]
    capabilities: [exec]
    ssh_login: ops`);
    assert.equal(r.status, 'ok');
    assert.equal(r.id, 'config.accord.a');
    assert.equal(r.detail, undefined);
  });

  it('a connector this build does not have: fail when it is the only one, warn beside a real one', () => {
    const only = lint(`    connectors: [sssh]
    targets: [db1.internal.test]
    capabilities: [exec]`);
    assert.equal(only.status, 'fail');
    assert.match(only.detail?.join('\n') ?? '', /connectors sssh: no such connector/);
    const beside = lint(`    connectors: [http, htp]
    targets: ["https://api.internal.test"]
    capabilities: [read]`);
    assert.equal(beside.status, 'warn');
  });

  it('capabilities that no operation of the connector requires', () => {
    const none = lint(`    connectors: [ssh]
    targets: [db1.internal.test]
    capabilities: [read, write]
    ssh_login: ops`);
    assert.equal(none.status, 'fail');
    assert.match(none.detail?.join('\n') ?? '', /include none that ssh \(needs one of exec\)/);
    const extra = lint(`    connectors: [http]
    targets: ["https://api.internal.test"]
    capabilities: [read, admin]`);
    assert.equal(extra.status, 'warn');
    assert.match(extra.detail?.join('\n') ?? '', /capabilities admin: no operation of http/);
  });

  it('target patterns that match no target the connector serves (bascule targets:)', () => {
    const connectors = `
connectors:
  bascule:
    targets:
      web1.internal.test: http://127.0.0.1:7001`;
    const miss = lint(
      `    connectors: [bascule]
    targets: ["*.prod.test"]
    capabilities: [exec]`,
      connectors,
    );
    assert.equal(miss.status, 'fail');
    assert.match(miss.detail?.join('\n') ?? '', /match no target connectors\.bascule serves/);
    const hit = lint(
      `    connectors: [bascule]
    targets: ["*.internal.test"]
    capabilities: [exec]`,
      connectors,
    );
    assert.equal(hit.status, 'ok');
  });

  it('an approval quorum that a principal can only reach by approving itself', () => {
    const self = lint(`    connectors: [http]
    targets: ["https://api.internal.test"]
    capabilities: [read]
    approvals: { required: 1, approvers: [${alice}] }`);
    assert.equal(self.status, 'fail');
    assert.match(self.detail?.join('\n') ?? '', /1 of 1 principals can never gather 1 approvals/);
    const others = lint(`    connectors: [http]
    targets: ["https://api.internal.test"]
    capabilities: [read]
    approvals: { required: 2, approvers: [${alice}, ${bob}, ${carol}] }`);
    assert.equal(others.status, 'ok');
  });

  it('a command policy that allows nothing, or on a connector that runs no commands', () => {
    const empty = lint(`    connectors: [ssh]
    targets: [db1.internal.test]
    capabilities: [exec]
    ssh_login: ops
    commands: { allow: [] }`);
    assert.equal(empty.status, 'fail');
    assert.match(empty.detail?.join('\n') ?? '', /commands\.allow is empty/);
    const denyAll = lint(`    connectors: [ssh]
    targets: [db1.internal.test]
    capabilities: [exec]
    ssh_login: ops
    commands: { allow: [uptime], deny: ["**"] }`);
    assert.equal(denyAll.status, 'fail');
    const http = lint(`    connectors: [http]
    targets: ["https://api.internal.test"]
    capabilities: [read]
    commands: { allow: [uptime] }`);
    assert.equal(http.status, 'warn');
    assert.match(http.detail?.join('\n') ?? '', /never applies \(http runs no commands\)/);
  });
});

describe('connector plugins: the capabilities they declare are those their operations require', () => {
  it('each registered connector, built from its default settings', async () => {
    const { connectorRegistry } = await import('../../src/connectors/registry.js');
    const { silentLogger } = await import('../../src/base/logger.js');
    const { systemClock } = await import('../../src/base/clock.js');
    const samples: Record<string, unknown[]> = {
      http: [
        { method: 'GET', path: '/' },
        { method: 'POST', path: '/' },
      ],
    };
    for (const plugin of connectorRegistry.list()) {
      const settings: unknown = plugin.settings({ baseDir: '/tmp' }).parse({});
      const connector = plugin.create(settings, { clock: systemClock, logger: silentLogger });
      const operations = samples[plugin.kind] ?? [{ argv: ['uptime'] }];
      const required = new Set(
        operations.flatMap((op) => connector.requiredCapabilities(connector.parseOperation(op))),
      );
      assert.deepEqual([...required].sort(), [...(plugin.capabilities ?? [])].sort(), plugin.kind);
    }
  });
});
