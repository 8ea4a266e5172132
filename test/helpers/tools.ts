/**
 * Where the tools CI builds or installs once per machine live (scripts/test-all.sh: a cache
 * directory keyed by version), and the versions, written in one place: package.json's
 * `config`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export const TOOLS_CACHE =
  process.env['BASTION_TOOLS_CACHE'] ?? join(homedir(), '.cache', 'bastion');

const config = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    config: Record<string, string | undefined>;
  }
).config;

/** The version package.json pins for `tool`. */
export function pinnedVersion(tool: string): string {
  const version = config[tool];
  if (version === undefined) throw new Error(`package.json config has no ${tool} version`);
  return version;
}
