/**
 * Sink health: the audit sink can be written, the witness file can be reached, the trail
 * verifies (the very `verifyAudit` of `bastion audit verify`: chain, checkpoints, sink and
 * witness), and the data directory's filesystem has room for the trail to grow. Without
 * room or a writable sink every audited operation stops (audit before action).
 */
import { accessSync, constants, existsSync, statSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AUDIT_SINK_FILE } from '../audit/sink.js';
import { verifyAudit } from '../audit/verify.js';
import { systemReason } from '../base/system-errors.js';
import type { BastionConfig } from '../config/config.js';
import { publicKeysFor } from '../server/shared-state.js';
import { openStore, type StoreSettings } from '../store/open.js';
import { type CheckResult, result } from './check.js';
import { reasonOf } from './store-health.js';

/** Below this the next burst of audit entries may not fit: fail. */
export const DISK_FAIL_BYTES = 64 * 1024 * 1024;
/** Below this (or 5 % of the filesystem), time to act: warn. */
export const DISK_WARN_BYTES = 1024 * 1024 * 1024;

function writable(path: string): string | undefined {
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (err) {
    return systemReason(err);
  }
}

/**
 * A file that must be writable, or, not made yet, can be: its directory exists and is
 * writable, or (`makesDirs`: the broker makes the sink's directory at start) its nearest
 * existing ancestor is a writable directory.
 */
function appendable(subject: string, label: string, path: string, makesDirs: boolean): CheckResult {
  if (existsSync(path)) {
    const why = writable(path);
    return why === undefined
      ? result('audit', subject, 'ok', `${label} ${path}: writable`)
      : result('audit', subject, 'fail', `${label} ${path}: not writable: ${why}`);
  }
  let dir = dirname(path);
  while (makesDirs && !existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const why = !existsSync(dir)
    ? `${dir} does not exist`
    : !statSync(dir).isDirectory()
      ? `${dir} is not a directory`
      : writable(dir);
  return why === undefined
    ? result('audit', subject, 'warn', `${label} ${path}: not written yet (it can be made)`)
    : result('audit', subject, 'fail', `${label} ${path}: missing, and cannot be made: ${why}`);
}

export function checkSinkFiles(
  dataDir: string,
  config: BastionConfig | undefined,
  shared: boolean,
): CheckResult[] {
  const results = [
    shared
      ? result('audit', 'sink', 'skipped', 'sink: none (replicas on a shared store keep none)')
      : appendable('sink', 'sink', join(dataDir, AUDIT_SINK_FILE), true),
  ];
  const witness = config?.audit_witness_file;
  results.push(
    witness === undefined
      ? result(
          'audit',
          'witness',
          config === undefined ? 'skipped' : 'warn',
          config === undefined
            ? 'witness: not checked (no --config)'
            : 'witness: none configured: a rollback of both the database and the sink cannot be seen',
        )
      : appendable('witness', 'witness', witness, false),
  );
  return results;
}

/** Free space against the thresholds, from statfs(2)'s counts. */
export function diskResult(dataDir: string, free: number, total: number): CheckResult {
  const message = `free space of ${dataDir}'s filesystem: ${Math.floor(free / (1024 * 1024))} MiB`;
  if (free < DISK_FAIL_BYTES) {
    return result('audit', 'disk', 'fail', `${message}: too little for the trail`);
  }
  if (free < DISK_WARN_BYTES || free < total * 0.05) {
    return result('audit', 'disk', 'warn', `${message}: running low`);
  }
  return result('audit', 'disk', 'ok', message);
}

export function checkDisk(dataDir: string): CheckResult {
  try {
    const fs = statfsSync(dataDir);
    return diskResult(dataDir, fs.bavail * fs.bsize, fs.blocks * fs.bsize);
  } catch (err) {
    const why = systemReason(err);
    return result('audit', 'disk', 'fail', `free space of ${dataDir}: cannot be read: ${why}`);
  }
}

/** Verifies the trail as `bastion audit verify` does; the store must be current (not migrated here). */
export async function checkTrail(
  settings: StoreSettings,
  dataDir: string,
  config: BastionConfig | undefined,
  env: NodeJS.ProcessEnv,
): Promise<CheckResult> {
  const shared = settings.kind === 'postgres';
  try {
    const store = await openStore(settings, dataDir, { mustExist: true });
    try {
      const publicKeys = await publicKeysFor({ ...config, data_dir: dataDir }, store, env);
      const report = await verifyAudit({
        store,
        sinkFile: shared ? null : join(dataDir, AUDIT_SINK_FILE),
        witnessFile: config?.audit_witness_file,
        publicKeys,
      });
      const head = report.head !== undefined ? `, head seq ${report.head.seq}` : '';
      return report.ok
        ? result('audit', 'trail', 'ok', `trail verifies: ${report.entries} entries${head}`)
        : result(
            'audit',
            'trail',
            'fail',
            `trail: ${report.problems.length} problems (see \`bastion audit verify\`)`,
            report.problems.map((p) => `${p.kind} at seq ${p.seq}: ${p.message}`),
          );
    } finally {
      await store.close();
    }
  } catch (err) {
    return result('audit', 'trail', 'fail', `trail: cannot be verified (${reasonOf(err)})`);
  }
}
