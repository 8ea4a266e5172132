/**
 * The spire backend's settings (`backends: [{kind: spire, …}]`): what the operator may
 * write, and each refusal naming its key; and the SPIFFE ID syntax it holds identities and
 * audiences to, so that configured IDs and the agent's compare as plain strings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAudience, isSpiffeId } from '../../src/backends/spire/spiffe-id.js';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfig } from '../../src/config/config.js';

const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

function parse(entry: string) {
  const yaml = `listen: 127.0.0.1:0
data_dir: /tmp/bastion-spire-settings
backends:
  - kind: spire
${entry}accords: []
`;
  return parseConfig(yaml, '/etc/bastion/bastion.yaml', {});
}

const refused = (where: string, why: string) => (err: unknown) =>
  err instanceof ConfigError &&
  err.message ===
    `Invalid configuration at /etc/bastion/bastion.yaml: backends[0].${where}: ${why}`;

describe('spire backend settings', () => {
  it('takes socket, identities, audiences, mtls and timeout; a relative socket is the file’s', () => {
    const config = parse(`    socket: run/api.sock
    spiffe_id: spiffe://example.org/bastion
    targets: ["https://*.internal.test"]
    identities: [{ principals: [${ALICE}], spiffe_id: spiffe://example.org/bastion/ops }]
    audiences: [{ targets: ["https://API.internal.test"], audience: spiffe://example.org/api }]
    mtls: { verify_target: system }
    timeout: 5s
`);
    const settings = config.backends[0]?.settings as Record<string, unknown>;
    assert.equal(settings['socket'], '/etc/bastion/run/api.sock');
    assert.deepEqual(settings['audiences'], [
      { targets: ['https://api.internal.test'], audience: 'spiffe://example.org/api' },
    ]);
    assert.equal(settings['timeout'], 5);
  });

  it('refuses what is not a SPIFFE ID, an audience, a did:key or a usable socket, by key', () => {
    const socket = '    socket: /run/spire/api.sock\n';
    assert.throws(
      () => parse(`${socket}    spiffe_id: spiffe://Example.org/bastion\n`),
      refused('spiffe_id', 'must be a SPIFFE ID (spiffe://trust-domain/path)'),
    );
    assert.throws(
      () =>
        parse(
          `${socket}    audiences: [{ targets: ["https://a.internal.test"], audience: "ftp://x" }]\n`,
        ),
      refused('audiences[0].audience', 'must be a SPIFFE ID or an http(s) URL'),
    );
    assert.throws(
      () =>
        parse(`${socket}    identities: [{ principals: [alice], spiffe_id: spiffe://e.org/x }]\n`),
      refused('identities[0].principals[0]', 'must be a did:key'),
    );
    assert.throws(
      () => parse(`    socket: /${'s'.repeat(120)}\n`),
      refused('socket', 'must be a unix socket path of at most 107 bytes'),
    );
    assert.throws(
      () => parse(`${socket}    targets: ["https://a.internal.test/../b"]\n`),
      refused('targets[0]', 'must be an http(s) URL pattern, optionally with * and ? wildcards'),
    );
    assert.throws(
      () => parse(`${socket}    mtls: { verify_target: none }\n`),
      refused('mtls.verify_target', 'must be bundle or system'),
    );
    assert.throws(
      () => parse(`${socket}    audience: x\n`),
      refused('audience', 'is not a known key'),
    );
  });
});

describe('SPIFFE IDs', () => {
  it('are read strictly, as the SPIFFE ID standard spells them', () => {
    for (const id of ['spiffe://example.org', 'spiffe://example.org/a/b-c_d.e']) {
      assert.ok(isSpiffeId(id), id);
    }
    for (const id of [
      'spiffe://Example.org/a', // trust domains are lowercase
      'spiffe://example.org/a/', // no empty segment
      'spiffe://example.org//a',
      'spiffe://example.org/a/../b',
      'spiffe://example.org/./a',
      'spiffe://example.org:8443/a', // no port
      'spiffe://user@example.org/a', // no user
      'spiffe://example.org/a?q=1', // no query
      'spiffe://example.org/a#f', // no fragment
      'spiffe://example.org/a%2Fb',
      'https://example.org/a',
      `spiffe://example.org/${'a'.repeat(2048)}`,
      7,
    ]) {
      assert.equal(isSpiffeId(id), false, String(id));
    }
  });

  it('an audience is a SPIFFE ID or an http(s) URL without user or fragment', () => {
    assert.ok(isAudience('https://api.internal.test/v1'));
    assert.ok(isAudience('spiffe://example.org/api'));
    for (const aud of ['api.internal.test', 'ftp://x', 'https://u:p@x.test', 'https://x.test#f']) {
      assert.equal(isAudience(aud), false, aud);
    }
  });
});
