/**
 * The PostgreSQL store's signing keyring and rate-limit windows (signing-keys.ts has the
 * checks and row shapes both stores share). A rotation runs under an advisory lock so two
 * replicas rotating at once serialise, and the second finds the key it meant to retire
 * already retired; its NOTIFY is sent by the same transaction, so every listener hears of
 * a rotation exactly when it has committed. A rate-limit hit is one upsert: concurrent hits
 * on one window wait on its row lock and each re-checks the count on the committed row.
 */
import { int } from './checks.js';
import { type Queryable, run } from './postgres-tx.js';
import {
  type SigningKeyRow,
  keyFromRow,
  newKeyRow,
  rateArgs,
  retiringKid,
} from './signing-keys.js';
import { KEYS_CHANNEL, RATE_WINDOW_MS, type StoredSigningKey } from './store.js';

/** The advisory lock rotations take (any fixed bigint; see postgres-migrations.ts for others). */
export const KEYS_LOCK = 0x6261_7374_0010;

const KEY_WRITE = { what: 'signing key' };

export class PgKeys {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async listSigningKeys(): Promise<StoredSigningKey[]> {
    const { rows } = await run<SigningKeyRow>(
      this.#db,
      'SELECT * FROM signing_keys ORDER BY created_at, kid',
    );
    return rows.map(keyFromRow);
  }

  /** Inside a transaction (PostgresStore runs it in one). */
  async insertSigningKey(
    key: StoredSigningKey,
    retiring: string | undefined,
    at: number,
  ): Promise<boolean> {
    const row = newKeyRow(key);
    const old = retiringKid(retiring);
    const when = int(at, 'retire time');
    await run(this.#db, 'SELECT pg_advisory_xact_lock($1)', [KEYS_LOCK]);
    const { rowCount } =
      old === null
        ? await run(this.#db, 'SELECT 1 FROM signing_keys LIMIT 1')
        : await run(
            this.#db,
            `UPDATE signing_keys SET retired_at = $2, wrapped = NULL
             WHERE kid = $1 AND retired_at IS NULL`,
            [old, when],
          );
    if (rowCount !== (old === null ? 0 : 1)) return false;
    await run(
      this.#db,
      `INSERT INTO signing_keys (kid, x, created_at, retired_at, version, wrapped, seal)
       VALUES ($1, $2, $3, NULL, $4, $5, $6)`,
      [row.kid, row.x, row.created_at, row.version, row.wrapped, row.seal],
      KEY_WRITE,
    );
    await run(this.#db, 'SELECT pg_notify($1, $2)', [KEYS_CHANNEL, row.kid]);
    return true;
  }

  async hitRateLimit(key: string, windowStart: number, limit: number): Promise<number> {
    const args = rateArgs(key, windowStart, limit);
    // A hit past the limit changes nothing and returns no row.
    const { rows } = await run<{ count: number }>(
      this.#db,
      `INSERT INTO rate_windows (key, window_start, count) VALUES ($1, $2, 1)
       ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1
         WHERE rate_windows.count < $3
       RETURNING count`,
      [args.key, args.windowStart, args.limit],
    );
    return rows[0]?.count ?? args.limit + 1;
  }

  /** Deletes the windows that ended at or before `now`. */
  async deleteEndedWindows(now: number): Promise<number> {
    const { rowCount } = await run(this.#db, 'DELETE FROM rate_windows WHERE window_start <= $1', [
      int(now, 'cleanup time') - RATE_WINDOW_MS,
    ]);
    return rowCount;
  }
}
