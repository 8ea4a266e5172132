/**
 * File modes: whatever holds a key or the trail must be the running user's alone (the data
 * directory 0700; signing keys, the KEK, the TLS key and the database password file 0600),
 * and the configuration, which is the policy, must not be writable by anyone else. Files
 * are stat(2)ed, not lstat(2)ed: a symlink is judged by what it points at, as the broker
 * opens it. Only modes and owners are read, never a file's content.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { systemReason } from '../base/system-errors.js';
import type { BastionConfig } from '../config/config.js';
import { type CheckResult, result } from './check.js';

export interface FileModeInputs {
  readonly dataDir: string;
  readonly config?: BastionConfig | undefined;
  /** `store.password_file`, absolute, when the file names one. */
  readonly passwordFile?: string | undefined;
  /** The running user; process.getuid() by default. */
  readonly uid?: number | undefined;
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

function statOf(path: string): Stats | string {
  try {
    return statSync(path);
  } catch (err) {
    return systemReason(err);
  }
}

function ownerProblem(stats: Stats, uid: number | undefined): string | undefined {
  return uid !== undefined && stats.uid !== uid
    ? `owned by uid ${stats.uid}, not the running user (${uid})`
    : undefined;
}

/** A file only its owner may read or write: mode 0600 (or stricter), the running user's. */
function privateFile(subject: string, label: string, path: string, uid?: number): CheckResult {
  const stats = statOf(path);
  if (typeof stats === 'string') {
    return result('files', subject, 'fail', `${label} ${path}: cannot be read: ${stats}`);
  }
  const problems = [
    (stats.mode & 0o077) !== 0 ? `mode ${octal(stats.mode)}, should be 0600` : undefined,
    ownerProblem(stats, uid),
  ].filter((p) => p !== undefined);
  return problems.length === 0
    ? result('files', subject, 'ok', `${label} ${path}: ${octal(stats.mode)}, yours`)
    : result('files', subject, 'fail', `${label} ${path}: ${problems.join('; ')}`);
}

function dataDirCheck(dir: string, uid: number | undefined): CheckResult {
  const stats = statOf(dir);
  if (typeof stats === 'string') {
    return result('files', 'data_dir', 'fail', `data directory ${dir}: cannot be read: ${stats}`);
  }
  if (!stats.isDirectory()) {
    return result('files', 'data_dir', 'fail', `data directory ${dir}: not a directory`);
  }
  const problems = [
    (stats.mode & 0o077) !== 0 ? `mode ${octal(stats.mode)}, should be 0700` : undefined,
    ownerProblem(stats, uid),
  ].filter((p) => p !== undefined);
  return problems.length === 0
    ? result('files', 'data_dir', 'ok', `data directory ${dir}: ${octal(stats.mode)}, yours`)
    : result('files', 'data_dir', 'fail', `data directory ${dir}: ${problems.join('; ')}`);
}

/** The configuration is policy: writable by others, it is anyone's policy. */
function configCheck(file: string): CheckResult {
  const stats = statOf(file);
  if (typeof stats === 'string') {
    return result('files', 'config', 'fail', `configuration ${file}: cannot be read: ${stats}`);
  }
  if ((stats.mode & 0o002) !== 0) {
    return result(
      'files',
      'config',
      'fail',
      `configuration ${file}: mode ${octal(stats.mode)}, writable by anyone`,
    );
  }
  if ((stats.mode & 0o020) !== 0) {
    return result(
      'files',
      'config',
      'warn',
      `configuration ${file}: mode ${octal(stats.mode)}, writable by its group`,
    );
  }
  return result(
    'files',
    'config',
    'ok',
    `configuration ${file}: ${octal(stats.mode)}, not writable by others`,
  );
}

/** The private signing keys in `<data_dir>/keys/` (`<kid>.pem`), when they live in files. */
function signingKeyChecks(dataDir: string, uid: number | undefined): CheckResult[] {
  const dir = join(dataDir, 'keys');
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.pem'));
  } catch {
    return [
      result(
        'files',
        'keys',
        'skipped',
        `signing keys: no ${dir} (keys in the database, or none made yet)`,
      ),
    ];
  }
  if (names.length === 0) {
    return [result('files', 'keys', 'skipped', `signing keys: none in ${dir}`)];
  }
  return names.map((name) =>
    privateFile(`key.${name.replace(/\.pem$/, '')}`, 'signing key', join(dir, name), uid),
  );
}

export function checkFileModes(inputs: FileModeInputs): CheckResult[] {
  const uid = inputs.uid ?? process.getuid?.();
  const { config } = inputs;
  const results = [dataDirCheck(inputs.dataDir, uid)];
  if (config !== undefined) results.push(configCheck(config.file));
  if (config?.signing_keys !== 'database') results.push(...signingKeyChecks(inputs.dataDir, uid));
  if (config?.key_encryption_key_file !== undefined) {
    results.push(privateFile('kek', 'key-encryption key', config.key_encryption_key_file, uid));
  }
  if (config?.tls !== undefined) {
    results.push(privateFile('tls_key', 'TLS key', config.tls.key_file, uid));
  }
  if (inputs.passwordFile !== undefined) {
    results.push(privateFile('password_file', 'store.password_file', inputs.passwordFile, uid));
  }
  return results;
}
