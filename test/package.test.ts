/** The built package, imported by its name as a user would (`npm test` builds dist/ first). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/paths.js';

describe("import('bastion')", () => {
  it('resolves exports["."] to dist/index.js and exposes the public API', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, { default: string }>;
      bin: Record<string, string>;
      files: string[];
    };
    assert.equal(pkg.name, 'bastion');
    assert.equal(pkg.exports['.']?.default, './dist/index.js');
    assert.equal(pkg.bin['bastion'], 'dist/cli/main.js');
    assert.ok(pkg.files.includes('dist'));

    const api = (await import('bastion')) as Record<string, unknown>;
    for (const name of [
      'CredentialResolver',
      'Secret',
      'NoBackendAvailable',
      'CredentialResolutionError',
      'DevBackend',
      'BastionError',
      'credentialFingerprint',
      'disposeCredential',
      // Growing it: plugins, their registries, and the server that takes extra ones.
      'defineBackendPlugin',
      'defineConnectorPlugin',
      'parseConfig',
      'startServer',
    ]) {
      assert.equal(typeof api[name], 'function', name);
    }
    const { CredentialResolver, NoBackendAvailable } = api as {
      CredentialResolver: new () => { register: unknown; resolve: unknown; revoke: unknown };
      NoBackendAvailable: new (t: string) => Error & { code: string };
    };
    const resolver = new CredentialResolver();
    assert.equal(typeof resolver.register, 'function');
    assert.equal(typeof resolver.resolve, 'function');
    assert.equal(typeof resolver.revoke, 'function');
    assert.equal(new NoBackendAvailable('oauth').code, 'no_backend_available');
    const registries = api as Record<string, { kinds: readonly string[] }>;
    assert.deepEqual(registries['backendRegistry']?.kinds, [
      'oauth_exchange',
      'entra',
      'vault',
      'aws_sts',
      'spire',
      'kerberos',
      'dev',
      'bascule',
    ]);
    assert.deepEqual(registries['connectorRegistry']?.kinds, ['ssh', 'bascule', 'http', 'winrm']);
  });
});
