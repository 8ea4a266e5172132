/**
 * The SQLite store's signing keyring and rate-limit windows (signing-keys.ts has the checks
 * and row shapes both stores share). Synchronous; `SqliteStore` runs the writes on its writer.
 */
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { int } from './checks.js';
import {
  type SigningKeyRow,
  keyFromRow,
  newKeyRow,
  rateArgs,
  retiringKid,
} from './signing-keys.js';
import { RATE_WINDOW_MS, type StoredSigningKey } from './store.js';

interface KeyStatements {
  list: Statement<[], SigningKeyRow>;
  any: Statement<[], number>;
  retire: Statement<[{ kid: string; at: number }]>;
  insert: Statement<[SigningKeyRow]>;
  hit: Statement<[{ key: string; windowStart: number; limit: number }], number>;
  deleteWindows: Statement<[{ before: number }]>;
}

function prepare(db: Db): KeyStatements {
  return {
    list: db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    any: db.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM signing_keys)').pluck(),
    // The private key goes with the retirement, as the file keyring deletes its PEM.
    retire: db.prepare(`
      UPDATE signing_keys SET retired_at = @at, wrapped = NULL
      WHERE kid = @kid AND retired_at IS NULL`),
    insert: db.prepare(`
      INSERT INTO signing_keys (kid, x, created_at, retired_at, version, wrapped, seal)
      VALUES (@kid, @x, @created_at, @retired_at, @version, @wrapped, @seal)`),
    // A hit past the limit changes nothing and returns no row.
    hit: db
      .prepare<[{ key: string; windowStart: number; limit: number }], number>(
        `INSERT INTO rate_windows (key, window_start, count) VALUES (@key, @windowStart, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 WHERE count < @limit
         RETURNING count`,
      )
      .pluck(),
    deleteWindows: db.prepare('DELETE FROM rate_windows WHERE window_start <= @before'),
  };
}

export class SqliteKeys {
  readonly #stmts: KeyStatements;
  readonly #rotate: Transaction<
    (row: SigningKeyRow, retiring: string | null, at: number) => boolean
  >;

  constructor(db: Db) {
    const s = (this.#stmts = prepare(db));
    this.#rotate = db.transaction((row: SigningKeyRow, retiring: string | null, at: number) => {
      if (
        retiring === null ? s.any.get() === 1 : s.retire.run({ kid: retiring, at }).changes !== 1
      ) {
        return false;
      }
      s.insert.run(row);
      return true;
    });
  }

  listSigningKeys(): StoredSigningKey[] {
    return this.#stmts.list.all().map(keyFromRow);
  }

  insertSigningKey(key: StoredSigningKey, retiring: string | undefined, at: number): boolean {
    // IMMEDIATE: the write lock before the read, so two rotations serialise.
    return this.#rotate.immediate(newKeyRow(key), retiringKid(retiring), int(at, 'retire time'));
  }

  hitRateLimit(key: string, windowStart: number, limit: number): number {
    const args = rateArgs(key, windowStart, limit);
    return this.#stmts.hit.get(args) ?? args.limit + 1;
  }

  /** Deletes the windows that ended at or before `now`. */
  deleteEndedWindows(now: number): number {
    return this.#stmts.deleteWindows.run({ before: int(now, 'cleanup time') - RATE_WINDOW_MS })
      .changes;
  }
}
