/**
 * `failover:`, a backend's circuit breaker: at the top of the file the default of every
 * backend (the implicit ones too), in an entry that backend's own, key by key over the
 * default; never handed to the plugin's own schema; every refusal names its key path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfig } from '../../src/config/config.js';

const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const AS = `token_endpoint: https://as.example.test/token
    issuer: https://as.example.test
    client_id: bastion`;

function parse(top: string, firstEntry = ''): ReturnType<typeof parseConfig> {
  return parseConfig(
    `${top}
backends:
  - kind: oauth_exchange
    id: corp
    ${AS}${firstEntry}
  - kind: oauth_exchange
    id: spare
    ${AS}
accords:
  - id: a
    principals: [${ALICE}]
    connectors: [http]
    targets: ["https://api.example.test"]
    capabilities: [read]
    max_duration: 5m
`,
    'c.yaml',
    {},
  );
}

const failovers = (config: ReturnType<typeof parseConfig>) =>
  config.backends.map((b) => [b.where, b.failover.failures, b.failover.open_seconds]);

function refusedAt(where: string, why: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `Invalid configuration at c.yaml: ${where}: ${why}`);
    return true;
  };
}

describe('parseConfig: failover', () => {
  it('defaults to 3 failures and 30 seconds for every backend', () => {
    const config = parse('');
    assert.deepEqual(config.failover, { failures: 3, open_seconds: 30 });
    assert.deepEqual(failovers(config), [
      ['backends[0]', 3, 30],
      ['backends[1]', 3, 30],
      ['backends.bascule', 3, 30],
    ]);
  });

  it('takes the top-level section as every backend’s default, and an entry’s own over it, key by key', () => {
    const config = parse('failover: { failures: 5, open: 2m }', '\n    failover: { open: 10s }');
    assert.deepEqual(config.failover, { failures: 5, open_seconds: 120 });
    assert.deepEqual(failovers(config), [
      ['backends[0]', 5, 10],
      ['backends[1]', 5, 120],
      ['backends.bascule', 5, 120],
    ]);
    // The plugin's settings never see the key (its schema would refuse it as unknown).
    assert.equal('failover' in (config.backends[0]?.settings as object), false);
  });

  it('names the key path of every refusal, without the value', () => {
    const cases: [string, string, string, string][] = [
      ['failover: { failures: 0 }', '', 'failover.failures', 'must be at least 1'],
      ['failover: { failures: 101 }', '', 'failover.failures', 'must be at most 100'],
      ['failover: { failures: 2.5 }', '', 'failover.failures', 'must be a whole number'],
      ['failover: { open: 2h }', '', 'failover.open', 'must be at most 3600 seconds'],
      ['failover: { colour: red }', '', 'failover.colour', 'is not a known key'],
      ['failover: 3', '', 'failover', 'must be a mapping'],
      [
        '',
        '\n    failover: { failures: -1 }',
        'backends[0].failover.failures',
        'must be at least 1',
      ],
      ['', '\n    failover: soon', 'backends[0].failover', 'must be a mapping'],
      [
        '',
        '\n    failover: { open: 0s }',
        'backends[0].failover.open',
        'must be a duration greater than zero',
      ],
    ];
    for (const [top, entry, where, why] of cases) {
      assert.throws(() => parse(top, entry), refusedAt(where, why), `${top}${entry}`);
    }
  });
});
