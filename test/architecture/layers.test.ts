/**
 * The architecture holds: the folders of src/ import each other only down the layers of
 * eslint/layers.mjs (so no two folders import each other, in any loop), the lint rule that
 * keeps it so fails on a planted upward import, and the file-length ceiling and the
 * unsafeReveal ban are on for src/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

interface LayersModule {
  LAYERS: string[][];
  folderOf(srcDir: string, file: string): string | undefined;
  layerProblem(from: string, to: string): string | undefined;
  layersPlugin: { rules: Record<string, unknown> };
}

const layers = (await import(
  pathToFileURL(join(repoRoot, 'eslint/layers.mjs')).href
)) as LayersModule;
const SRC = join(repoRoot, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Folder → the folders it imports, from every relative import of every file in src/. */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sources(SRC)) {
    const from = layers.folderOf(SRC, file) ?? '';
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = layers.folderOf(SRC, resolve(dirname(file), fileName));
      if (to === undefined || to === from) continue;
      graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const walk = (node: string, path: string[]): string[] | undefined => {
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    if (state.get(node) === 'done') return undefined;
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      const cycle = walk(next, [...path, node]);
      if (cycle !== undefined) return cycle;
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = walk(node, []);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

function lintAs(file: string, code: string): Linter.LintMessage[] {
  return new Linter({ configType: 'flat' }).verify(
    code,
    [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { bastion: layers.layersPlugin as never },
        rules: { 'bastion/layers': ['error', { srcDir: SRC }] },
      },
    ],
    { filename: join(SRC, file) },
  );
}

describe('layers', () => {
  it('every folder of src/ has a layer, and the folders import each other without a loop', () => {
    const graph = folderGraph();
    const placed = new Set(layers.LAYERS.flat());
    for (const folder of readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      assert.ok(placed.has(folder.name), `src/${folder.name} is in no layer`);
    }
    assert.ok(graph.size >= 10, 'the graph was read');
    assert.equal(findCycle(graph), undefined);
    for (const [from, tos] of graph) {
      for (const to of tos)
        assert.equal(layers.layerProblem(from, to), undefined, `${from} → ${to}`);
    }
  });

  it('the cycle finder finds a planted loop (so its silence above means something)', () => {
    const graph = folderGraph();
    graph.set('base', new Set([...(graph.get('base') ?? []), 'server']));
    const cycle = findCycle(graph);
    assert.ok(cycle !== undefined && cycle.includes('base') && cycle.includes('server'));
  });

  it('the lint rule fails on a planted upward or sideways import, and passes a downward one', () => {
    const upward = lintAs(
      'credentials/planted.ts',
      "import { startServer } from '../server/app.js';",
    );
    assert.equal(upward.length, 1);
    assert.match(upward[0]?.message ?? '', /src\/credentials must not import src\/server/);
    const typeOnly = lintAs(
      'store/planted.ts',
      "import type { GovernanceService } from '../governance/service.js';",
    );
    assert.equal(typeOnly.length, 1, 'type-only imports count too');
    const sideways = lintAs('backends/planted.ts', "export * from '../transports/types.js';");
    assert.match(sideways[0]?.message ?? '', /one layer/);
    const dynamic = lintAs('base/planted.ts', "export const m = () => import('../cli/main.js');");
    assert.equal(dynamic.length, 1);
    const stray = lintAs('newfolder/planted.ts', "import { x } from '../base/errors.js';");
    assert.match(stray[0]?.message ?? '', /in no layer/);
    assert.deepEqual(lintAs('server/planted.ts', "import { x } from '../base/errors.js';"), []);
    assert.deepEqual(lintAs('server/planted.ts', "import { x } from './app.js';"), []);
  });

  it('the repository config turns on the layers, the file-length ceiling and the unsafeReveal ban for src/', async () => {
    const eslint = new ESLint({ cwd: repoRoot });
    const config = (await eslint.calculateConfigForFile(join(SRC, 'credentials/resolver.ts'))) as {
      rules: Record<string, unknown[]>;
    };
    assert.equal(config.rules['bastion/layers']?.[0], 2);
    assert.equal(config.rules['max-lines']?.[0], 2);
    assert.deepEqual(config.rules['max-lines']?.[1], {
      max: 300,
      skipBlankLines: true,
      skipComments: true,
    });
    const banned = JSON.stringify(config.rules['no-restricted-syntax']);
    assert.match(banned, /unsafeReveal/);
    const planted = new Linter({ configType: 'flat' }).verify(
      'declare const s: { unsafeReveal(): Buffer }; s.unsafeReveal();',
      [
        {
          files: ['**/*.ts'],
          languageOptions: { parser: tseslint.parser },
          rules: { 'no-restricted-syntax': config.rules['no-restricted-syntax'] as never },
        },
      ],
      { filename: join(SRC, 'credentials/planted.ts') },
    );
    assert.equal(planted.length, 1);
  });
});
