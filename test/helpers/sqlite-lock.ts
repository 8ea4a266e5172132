/**
 * Takes SQLite's write lock on a file store from a second connection: the writer thread's
 * next transaction waits until `release()` (or its busy timeout), so everything sent
 * meanwhile stays queued, uncommitted, behind it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';

export function holdWriteLock(dir: string): { release(): void } {
  const db = new Database(join(dir, 'bastion.db'));
  db.exec('BEGIN IMMEDIATE');
  return {
    release() {
      db.exec('COMMIT');
      db.close();
    },
  };
}
