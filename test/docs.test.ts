/**
 * The docs stay true: the README's configuration parses, its CLI commands exist, its status
 * table names every kind the registries hold; docs/architecture.md's worked example
 * type-checks against the built package and runs, as written, against a real broker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { backendRegistry } from '../src/backends/registry.js';
import { connectorRegistry } from '../src/connectors/registry.js';
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
      const yaml = block.replaceAll(/did:key:z6Mk\.\.\.\w*/g, () => generatePrincipalKey().did);
      return parseConfig(
        yaml.includes('accords:') ? yaml : `${yaml}accords: []\n`,
        '/etc/bastion/bastion.yaml',
        {},
      );
    });
    assert.equal(configs[0]?.accordsById.get('ops-exec')?.max_duration_seconds, 900);
    // Every accord that allows ssh names its login (the loader refuses it otherwise).
    assert.equal(configs[0]?.accordsById.get('ops-exec')?.ssh_login, 'ops');
    const tls = configs.find((c) => c.tls !== undefined)?.tls;
    assert.equal(tls?.key_file, '/etc/bastion/tls/key.pem', 'the TLS example');
    assert.equal(
      (
        connectorSettings(
          configs[blocks.findIndex((b) => b.includes('  bascule:'))] as BastionConfig,
          'bascule',
        ) as BasculeSettings
      ).targets.get('db2.internal.test'),
      'unix:/run/bascule.sock',
    );
    const store = configs[blocks.findIndex((b) => b.startsWith('store:'))]?.store;
    assert.deepEqual(
      store?.kind === 'postgres' ? store.url : store,
      'postgres://bastion@db.internal:5432/bastion?sslmode=verify-full',
    );
  });

  it('has a status row for every backend and connector kind', () => {
    const status = readme.slice(
      readme.indexOf('## Status'),
      readme.indexOf('## Running the broker'),
    );
    for (const kind of [...backendRegistry.kinds, ...connectorRegistry.kinds]) {
      assert.match(status, new RegExp(`\`${kind}\``), kind);
    }
  });

  it('has a Status table whose states match the code', () => {
    const status = readme.slice(
      readme.indexOf('## Status'),
      readme.indexOf('## Running the broker'),
    );
    const rows = [...status.matchAll(/^\| (.+?) +\| (.+?) +\|$/gm)]
      .map((m) => ({ area: m[1] ?? '', state: m[2] ?? '' }))
      .filter((row) => !/^(area|-+)$/.test(row.area));
    assert.ok(rows.length >= 10, 'rows');
    for (const { area, state } of rows) {
      assert.match(state, /^(done|in progress \(issue #\d+\)|planned \(issue #\d+\))$/, area);
    }
    // What the code has is never "planned": each kind the registries hold, MCP, the audit.
    const planned = rows.filter((row) => row.state.startsWith('planned')).map((row) => row.area);
    const built = [...backendRegistry.kinds, ...connectorRegistry.kinds].map((k) => `\`${k}\``);
    for (const thing of [...built, 'MCP', 'audit', 'benchmarks', 'start-up errors']) {
      for (const area of planned) assert.ok(!area.includes(thing), `${thing} is built: ${area}`);
    }
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
      '/governance/approvals/{ac_id}/deny',
      '/governance/revoke/',
      '/governance/acs/{ac_id}',
      '/governance/acs`',
      '/governance/approvals`',
      '/.well-known/jwks.json',
      '/connectors/{connector}/invoke',
      '/audit',
      '/audit/checkpoints',
      '/health/backends',
      '/healthz',
      '/readyz',
      '/openapi.json',
    ]) {
      assert.ok(readme.includes(route), route);
    }
  });
});

describe('docs/architecture.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs/architecture.md'), 'utf8');
  const example = doc.slice(doc.indexOf('### A worked example'));
  const code = /```ts\n([\s\S]*?)```/.exec(example)?.[1] ?? '';

  it('names every folder of src/ in its layer table, as eslint/layers.mjs does', async () => {
    const { LAYERS } = (await import(pathToFileURL(join(repoRoot, 'eslint/layers.mjs')).href)) as {
      LAYERS: string[][];
    };
    LAYERS.forEach((folders, level) => {
      const row = new RegExp(
        `^\\| ${level} +\\| ${folders.map((f) => `\`${f}\``).join(', ')} +\\|`,
        'm',
      );
      assert.match(doc, row, `layer ${level}`);
    });
  });

  it('its worked example type-checks against the package and runs as written', async () => {
    assert.ok(code.includes('backendRegistry.register('), 'the example was found');
    // Inside the repository, so that `bastion` resolves to this package (dist/).
    const dir = mkdtempSync(join(repoRoot, 'build', 'docs-example-'));
    try {
      const file = join(dir, 'example.ts');
      writeFileSync(file, code);
      const options: ts.CompilerOptions = {
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
        types: ['node'],
        skipLibCheck: true,
        noEmit: true,
      };
      const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options));
      assert.deepEqual(
        diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
        [],
      );
      const js = ts.transpileModule(code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(dir, 'example.mjs'), js);
      const { runExample } = (await import(pathToFileURL(join(dir, 'example.mjs')).href)) as {
        runExample: (dataDir: string) => Promise<unknown>;
      };
      const data = mkdtempSync(join(tmpdir(), 'bastion-docs-'));
      assert.deepEqual(await runExample(data), {
        said: 'hello',
        issued_by: 'stub-one',
        timed_out: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SECURITY.md', () => {
  it('names only tests and sources that exist', () => {
    const text = readFileSync(join(repoRoot, 'SECURITY.md'), 'utf8');
    const paths = [...text.matchAll(/`((?:test|src)\/[\w./*-]+)`/g)].map((m) => m[1] ?? '');
    assert.ok(paths.length >= 10, 'it cites its tests');
    for (const path of paths) {
      const dir = path.endsWith('/*') ? path.slice(0, -2) : path;
      assert.ok(existsSync(join(repoRoot, dir)), path);
    }
  });
});
