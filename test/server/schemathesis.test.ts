/**
 * Schemathesis (PyPI) against the broker's own /openapi.json: generated and mutated
 * requests on every operation, each signed with a real DPoP proof (and, on the invoke
 * routes, a real AC with `ath`) by test/peers/schemathesis_dpop.py, so that the fuzzing
 * reaches past the authentication edge. No answer may be a 5xx, nor differ from the
 * document (status, content type, body schema). Bounded in examples and in time; on
 * 127.0.0.1 only. scripts/test-all.sh installs Schemathesis into a cache keyed by version.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startBascule } from '../../src/bascule/runtime.js';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer } from '../../src/server/app.js';
import { repoRoot } from '../helpers/paths.js';
import { skipWithoutFile } from '../helpers/peer-skip.js';
import { pinnedVersion, TOOLS_CACHE } from '../helpers/tools.js';

/** The one place the version is written: package.json's config (scripts/test-all.sh reads it). */
const SCHEMATHESIS_VERSION = pinnedVersion('schemathesis');
const ST = join(TOOLS_CACHE, `schemathesis-${SCHEMATHESIS_VERSION}`, 'bin', 'st');

function run(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // In a temporary directory: Schemathesis keeps a cache of its own where it runs.
    const child = spawn(ST, args, {
      cwd,
      env: { ...process.env, ...env, PYTHONPATH: join(repoRoot, 'test', 'peers') },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    // A script that cannot start (ENOENT: its interpreter gone) fails the test, not hangs it.
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

describe('schemathesis against /openapi.json', () => {
  it('finds no 5xx and no answer that differs from the document', async (t) => {
    const missing = skipWithoutFile(ST, 'Schemathesis', 'scripts/test-all.sh');
    if (missing !== false) {
      t.skip(missing);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'bastion-st-'));
    const socket = join(dir, 'bascule.sock');
    const alice = generatePrincipalKey();
    const yaml = `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: silent
admins: [${alice.did}]
limits: { rate_per_minute: 1000000, auth_failures_per_minute: 1000000 }
backends:
  - kind: dev
accords:
  - id: ops
    principals: [${alice.did}]
    approvals: { required: 1, approvers: [${alice.did}] }
    connectors: [ssh, bascule, http]
    targets: ["*.internal.test", "https://api.internal.test"]
    capabilities: [read, exec, write]
    max_duration: 1h
    ssh_login: ops
  - id: quick
    principals: [${alice.did}]
    connectors: [bascule]
    targets: ["db1.internal.test"]
    capabilities: [exec]
    commands: { allow: ["true"] }
    max_duration: 1h
connectors:
  bascule: { targets: { "db1.internal.test": "unix:${socket}" } }
`;
    const server = await startServer({
      config: parseConfig(yaml, join(dir, 'bastion.yaml')),
      logDestination: false,
    });
    // A real target, so that an allowed invocation runs (the accord allows only `true`).
    const bascule = await startBascule({
      name: 'db1.internal.test',
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      socket,
      auditFile: join(dir, 'bascule-audit.jsonl'),
      logDestination: false,
    });
    try {
      const issued = await new BastionClient({ url: server.url, key: alice }).authorize({
        accord: 'quick',
        connector: 'bascule',
        target: 'db1.internal.test',
        capabilities: ['exec'],
        duration_seconds: 3600,
      });
      if (issued.status !== 'active') throw new Error('expected an active AC');
      const keyFile = join(dir, 'alice.pem');
      writeFileSync(keyFile, alice.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
        mode: 0o600,
      });
      const { code, out } = await run(
        [
          'run',
          `${server.url}/openapi.json`,
          '--checks',
          'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method',
          '--max-examples',
          '15',
          '--seed',
          '20261130',
          '--workers',
          '1',
          '--max-time',
          '60',
          '--request-timeout',
          '10',
          '--no-color',
        ],
        {
          SCHEMATHESIS_HOOKS: 'schemathesis_dpop',
          BASTION_ST_URL: server.url,
          BASTION_ST_KEY: keyFile,
          BASTION_ST_AC: issued.ac,
        },
        dir,
      );
      assert.equal(code, 0, out);
      // It ran every operation, authenticated: nothing was skipped for want of a proof.
      assert.match(out, /\/governance\/authorize\//);
      assert.match(out, /\/connectors\/bascule\/invoke/);
    } finally {
      await bascule.close();
      await server.close();
    }
  });
});
