/**
 * The broker's data directory, checked before anything opens a file in it: a path that is
 * a file, under one, unwritable or on a read-only filesystem is refused with the path and
 * the system's reason; a path on a kernel pseudo-filesystem (/proc, /sys, …) is refused
 * before any mkdir, since Node's recursive mkdir spins forever under /proc.
 *
 * The filesystem is asked with statfs(2) rather than matching path prefixes: it sees a bind
 * mount or a symlink into /proc as what it is, and a directory named /procedures as not.
 */
import { accessSync, constants, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { dataDirUnusable, systemReason } from './system-errors.js';

/** Linux statfs f_type magic numbers (linux/magic.h) of filesystems that hold no files. */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0x1cd1, 'devpts'],
  [0xde5e81e0, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x6e736673, 'nsfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x19800202, 'mqueue'],
  [0x42494e4d, 'binfmt_misc'],
]);

/** The path itself if it exists, else its nearest existing ancestor. */
function nearestExisting(path: string): string {
  let at = path;
  for (;;) {
    try {
      statSync(at);
      return at;
    } catch {
      const up = dirname(at);
      if (up === at) return at;
      at = up;
    }
  }
}

/** The pseudo-filesystem `path` (or its nearest existing ancestor) is on, if it is on one. */
export function pseudoFilesystemOf(path: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return PSEUDO_FILESYSTEMS.get(statfsSync(nearestExisting(path)).type);
  } catch {
    return undefined; // statfs refused: the mkdir below says why, if anything is wrong
  }
}

/**
 * Makes sure `dir` is a directory the broker can write (created 0700 if missing), or throws
 * `data_dir_unusable` naming it and the reason. Returns the absolute path.
 */
export function prepareDataDir(dir: string): string {
  const path = resolve(dir);
  const pseudo = pseudoFilesystemOf(path);
  if (pseudo !== undefined) {
    throw dataDirUnusable(path, `it is on a ${pseudo} filesystem, which cannot hold files`);
  }
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw dataDirUnusable(
      path,
      exists ? 'it exists and is not a directory' : systemReason(err),
      err,
    );
  }
  try {
    // W_OK sees a read-only filesystem (EROFS) even for root; X_OK, a directory not entered.
    accessSync(path, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw dataDirUnusable(path, systemReason(err), err);
  }
  return path;
}
