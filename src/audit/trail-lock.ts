/**
 * One broker per audit trail. The log chains entries from the head it holds and writes the
 * sink before the database, so a second broker on the same data directory would fork the
 * chain on the sink before the database could refuse it. The lock is SQLite's exclusive
 * lock on a small file beside the sink (`audit/writer.lock`), held by one connection in
 * `locking_mode=EXCLUSIVE` until it closes: an fcntl lock, which the kernel drops however
 * the process ends, so a `kill -9` leaves nothing stale to clear by hand.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../base/errors.js';
import { auditDir } from './sink.js';

const WHERE = 'audit';
const LOCK_FILE = 'writer.lock';

/** Takes the trail's lock in `<dataDir>/audit`; returns its release (idempotent). */
export function lockTrail(dataDir: string): () => void {
  const path = join(auditDir(dataDir), LOCK_FILE);
  let db: Database.Database;
  try {
    // Created 0600 here, never through a symlink; SQLite then opens what is there.
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600));
    db = new Database(path, { timeout: 0 });
  } catch {
    throw new ConfigError(WHERE, 'the audit lock file cannot be opened (or is a symlink)');
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch {
    db.close();
    throw new ConfigError(
      WHERE,
      'another broker is writing this audit trail: one broker per data directory',
    );
  }
  return () => {
    if (db.open) db.close();
  };
}
