/**
 * One rule for tests whose real peer CI installs (scripts/test-all.sh,
 * scripts/debian-packages.sh): where the peer is missing they skip, saying why; under CI,
 * where it must be there, its absence fails instead of skipping.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

/** False when nothing is missing; else `missing`, to skip with — never under CI. */
export function skipUnlessPresent(missing: string | undefined): string | false {
  if (missing === undefined) return false;
  assert.ok(process.env['CI'] === undefined, `${missing}; CI is set, so this fails, not skips`);
  return missing;
}

/** `skipUnlessPresent` for a tool installed at `path` (a venv's python, a binary). */
export function skipWithoutFile(path: string, what: string, installer: string): string | false {
  return skipUnlessPresent(
    existsSync(path) ? undefined : `${what} is not installed at ${path} (${installer} installs it)`,
  );
}

/** `skipUnlessPresent` for a peer that needs several installed things, each named. */
export function skipUnlessMissingNone(peer: string, missing: readonly string[]): string | false {
  return skipUnlessPresent(
    missing.length === 0
      ? undefined
      : `${peer} cannot run: missing ${missing.join(', ')} (scripts/debian-packages.sh installs them)`,
  );
}
