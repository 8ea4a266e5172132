/**
 * The PostgreSQL store's way to the database: a query on the pool, or a transaction on one
 * client, each with its failure mapped (postgres-errors.ts). Transactions run at READ
 * COMMITTED; what must serialise takes a lock inside (a row lock or an advisory lock), so
 * no caller needs to retry.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { type PgErrorContext, mapPgError } from './postgres-errors.js';

/** What runs queries: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Runs one statement, mapping its failure. */
export async function run<R extends QueryResultRow>(
  db: Queryable,
  text: string,
  values: unknown[] = [],
  context?: PgErrorContext,
): Promise<{ rows: R[]; rowCount: number }> {
  try {
    const result = await db.query<R>(text, values);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (err) {
    throw mapPgError(err, context);
  }
}

/**
 * Runs `work` in one transaction on one client: committed when it resolves, rolled back
 * when it throws. A client whose connection failed is destroyed, not returned to the pool.
 */
export async function transaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapPgError(err);
  }
  let broken: unknown;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr;
    });
    throw mapPgError(err);
  } finally {
    client.release(broken instanceof Error ? broken : undefined);
  }
}
