/**
 * The sink's rotated copies: log rotation renames `audit.jsonl` away (`audit.jsonl.1`,
 * `audit.jsonl-20261201`, …) and the broker, on SIGHUP, starts a fresh file at the path
 * (sink.ts `reopen`). Verification reads the copies beside the sink with it, so the trail
 * is whole again; compressed copies are not read (decompress them and pass them with
 * `--sink`).
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const COMPRESSED = /\.(gz|bz2|xz|zst|lz4|z|zip)$/i;

/** The uncompressed rotated copies of `sinkFile` in its directory, sorted by name. */
export function rotatedSinkFiles(sinkFile: string): string[] {
  const dir = dirname(sinkFile);
  const name = basename(sinkFile);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter(
      (n) =>
        n.length > name.length + 1 &&
        n.startsWith(name) &&
        (n[name.length] === '.' || n[name.length] === '-') &&
        !COMPRESSED.test(n),
    )
    .sort()
    .map((n) => join(dir, n));
}
