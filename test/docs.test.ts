/** The README's examples stay true: its configuration parses, its CLI commands exist. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectorSettings, parseConfig, type BastionConfig } from '../src/config/config.js';
import type { BasculeSettings } from '../src/connectors/bascule/plugin.js';
import { generatePrincipalKey } from '../src/governance/did-key.js';
import { bastion } from './helpers/cli.js';
import { repoRoot } from './helpers/paths.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('shows configuration that the broker accepts', () => {
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    assert.ok(blocks.length >= 2, 'yaml examples');
    const configs = blocks.map((block) => {
      const yaml = block.replaceAll('did:key:z6Mk...', () => generatePrincipalKey().did);
      return parseConfig(
        yaml.includes('accords:') ? yaml : `${yaml}accords: []\n`,
        '/etc/bastion/bastion.yaml',
        {},
      );
    });
    assert.equal(configs[0]?.accordsById.get('ops-exec')?.max_duration_seconds, 900);
    assert.equal(configs[0]?.public_url, 'https://bastion.example.test');
    assert.equal(
      (connectorSettings(configs[1] as BastionConfig, 'bascule') as BasculeSettings).targets.get(
        'db2.internal.test',
      ),
      'unix:/run/bascule.sock',
    );
  });

  it('names only commands the CLI has', () => {
    const help = bastion(['help']).stdout;
    const used = new Set([...readme.matchAll(/^bastion ([a-z]+)/gm)].map((m) => m[1]));
    assert.ok(used.size >= 6);
    for (const command of used)
      assert.match(help, new RegExp(`^  ${command ?? ''}\\b`, 'm'), command);
  });

  it('documents every route the server has', () => {
    for (const route of [
      '/governance/authorize/',
      '/governance/approvals/{ac_id}',
      '/governance/revoke/',
      '/governance/acs/{ac_id}',
      '/.well-known/jwks.json',
      '/connectors/{connector}/invoke',
      '/audit',
      '/healthz',
      '/openapi.json',
    ]) {
      assert.ok(readme.includes(route), route);
    }
  });
});
