/**
 * The authorization half of the PostgreSQL store: ACs, approvals, revocations, DPoP proof
 * jtis, signing-key usage and cleanup, with the SQLite store's contracts and its row and
 * argument checks (ac-row.ts, checks.ts). Every state transition is a conditional write
 * whose row count is the answer: at READ COMMITTED a second writer of the same row waits
 * for the first and then re-checks the condition on the committed row, so two brokers
 * racing on one AC cannot both win.
 */
import { InvalidArgumentError } from '../base/errors.js';
import { AC_STATES, acQuery } from './ac-query.js';
import {
  type AcRow,
  approvalOf,
  type ApprovalRow,
  claimsJson,
  commentText,
  fromRow,
  toRow,
} from './ac-row.js';
import { positional } from './audit-query.js';
import { int, text } from './checks.js';
import { AcConflictError } from './errors.js';
import { type Queryable, run } from './postgres-tx.js';
import { type AcFilter, type AcRecord, type Approval, REVOCATIONS_CHANNEL } from './store.js';

const AC_COLUMNS = [
  'ac_id',
  'principal_did',
  'cnf_jkt',
  'accord',
  'connector',
  'target',
  'capabilities',
  'capability_mask',
  'duration_seconds',
  'justification',
  'act',
  'approvals_required',
  'requested_at',
  'state',
  'claims',
  'expires_at',
  'activated_at',
  'revoked_at',
  'revoked_by',
] as const satisfies readonly (keyof AcRow)[];

const INSERT_AC = `INSERT INTO acs (${AC_COLUMNS.join(', ')})
  VALUES (${AC_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

const AC_WRITE = { conflict: () => new AcConflictError(), what: 'authorization context record' };

/** The `Store` methods on ACs, proofs and keys, on the pool or inside a transaction. */
export class PgAcs {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async insertAc(record: AcRecord): Promise<void> {
    const row = toRow(record);
    await run(
      this.#db,
      INSERT_AC,
      AC_COLUMNS.map((c) => row[c]),
      AC_WRITE,
    );
  }

  async getAc(acId: string): Promise<AcRecord | undefined> {
    const { rows } = await run<AcRow>(this.#db, 'SELECT * FROM acs WHERE ac_id = $1', [
      text(acId, 'ac_id'),
    ]);
    return rows[0] === undefined ? undefined : fromRow(rows[0]);
  }

  async addApproval(
    acId: string,
    approverDid: string,
    at: number,
    comment?: string,
  ): Promise<boolean> {
    // FOR SHARE: an activation, denial or revocation of this AC either committed before
    // (and the re-checked state refuses) or waits until this approval has committed.
    const { rowCount } = await run(
      this.#db,
      `INSERT INTO approvals (ac_id, approver_did, approved_at, comment)
       SELECT $1::text, $2::text, $3::bigint, $4::text
       WHERE EXISTS (
         SELECT 1 FROM acs
         WHERE ac_id = $1 AND state = 'pending_approval' AND denied_at IS NULL FOR SHARE)
       ON CONFLICT (ac_id, approver_did) DO NOTHING`,
      [
        text(acId, 'ac_id'),
        text(approverDid, 'approver DID'),
        int(at, 'approval time'),
        commentText(comment),
      ],
    );
    return rowCount === 1;
  }

  async denyAc(acId: string, by: string, at: number, comment?: string): Promise<boolean> {
    const { rowCount } = await run(
      this.#db,
      `UPDATE acs SET denied_at = $3, denied_by = $2, denial_comment = $4
       WHERE ac_id = $1 AND state = 'pending_approval' AND denied_at IS NULL`,
      [text(acId, 'ac_id'), text(by, 'denier DID'), int(at, 'denial time'), commentText(comment)],
    );
    return rowCount === 1;
  }

  async listApprovals(acId: string): Promise<Approval[]> {
    const { rows } = await run<ApprovalRow>(
      this.#db,
      `SELECT approver_did, approved_at, comment FROM approvals
       WHERE ac_id = $1 ORDER BY approved_at, approver_did`,
      [text(acId, 'ac_id')],
    );
    return rows.map(approvalOf);
  }

  async listAcs(filter: AcFilter): Promise<AcRecord[]> {
    const { sql, params } = acQuery(filter);
    const { text: query, values } = positional(sql, params);
    const { rows } = await run<AcRow>(this.#db, query, values);
    return rows.map(fromRow);
  }

  async activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): Promise<boolean> {
    const { rowCount } = await run(
      this.#db,
      `UPDATE acs SET state = 'active', claims = $2, expires_at = $3, activated_at = $4
       WHERE ac_id = $1 AND state = 'pending_approval' AND denied_at IS NULL`,
      [
        text(acId, 'ac_id'),
        claimsJson(claims),
        int(expiresAt, 'AC expiry'),
        int(at, 'activation time'),
      ],
      AC_WRITE,
    );
    return rowCount === 1;
  }

  /** Inside a transaction: the row update and the revocation entry commit together. */
  async revokeAc(acId: string, by: string, at: number, expiresAt: number): Promise<boolean> {
    const values = [
      text(acId, 'ac_id'),
      text(by, 'revoker'),
      int(at, 'revocation time'),
      int(expiresAt, 'revocation expiry'),
    ];
    const marked = await run(
      this.#db,
      `UPDATE acs SET state = 'revoked', revoked_at = $3, revoked_by = $2
       WHERE ac_id = $1 AND state <> 'revoked'`,
      values.slice(0, 3),
    );
    if (marked.rowCount === 0) return false;
    // A conflict cannot follow the conditional update; if one ever does, keep the later
    // expiry rather than shorten a revocation.
    await run(
      this.#db,
      `INSERT INTO revocations (ac_id, revoked_at, revoked_by, expires_at)
       VALUES ($1, $3, $2, $4)
       ON CONFLICT (ac_id) DO UPDATE
         SET expires_at = GREATEST(revocations.expires_at, excluded.expires_at)`,
      values,
    );
    // Delivered at commit, to every replica's cache; never sent if the revocation rolls back.
    await run(this.#db, 'SELECT pg_notify($1, $2)', [REVOCATIONS_CHANNEL, values[0]]);
    return true;
  }

  async countAcs(state: string): Promise<number> {
    if (!AC_STATES.has(state)) throw new InvalidArgumentError('AC state');
    const { rows } = await run<{ n: string }>(
      this.#db,
      // A denied request is no longer waiting for anyone.
      'SELECT count(*) AS n FROM acs WHERE state = $1 AND denied_at IS NULL',
      [state],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async isRevoked(acId: string): Promise<boolean> {
    // The state column keeps answering after cleanup has pruned an expired AC's entry.
    const { rows } = await run<{ revoked: boolean }>(
      this.#db,
      `SELECT EXISTS (SELECT 1 FROM revocations WHERE ac_id = $1)
           OR EXISTS (SELECT 1 FROM acs WHERE ac_id = $1 AND state = 'revoked') AS revoked`,
      [text(acId, 'ac_id')],
    );
    return rows[0]?.revoked === true;
  }

  async rememberProof(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    const { rowCount } = await run(
      this.#db,
      `INSERT INTO proof_jtis (jkt, jti, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (jkt, jti) DO NOTHING`,
      [text(jkt, 'proof key thumbprint'), text(jti, 'proof jti'), int(expiresAt, 'proof expiry')],
    );
    return rowCount === 1;
  }

  async noteKeyUse(kid: string, exp: number): Promise<void> {
    await run(
      this.#db,
      `INSERT INTO key_usage (kid, last_exp) VALUES ($1, $2)
       ON CONFLICT (kid) DO UPDATE SET last_exp = GREATEST(key_usage.last_exp, excluded.last_exp)`,
      [text(kid, 'kid'), int(exp, 'key use expiry')],
    );
  }

  async keyLastExpiry(kid: string): Promise<number | undefined> {
    const { rows } = await run<{ last_exp: number }>(
      this.#db,
      'SELECT last_exp FROM key_usage WHERE kid = $1',
      [text(kid, 'kid')],
    );
    return rows[0]?.last_exp;
  }

  /** Inside a transaction. */
  async cleanup(now: number): Promise<{ proofs: number; revocations: number }> {
    const ms = int(now, 'cleanup time');
    const proofs = await run(this.#db, 'DELETE FROM proof_jtis WHERE expires_at < $1', [ms]);
    // `cutoff` is now in whole seconds rounded up, so `expires_at < cutoff` is exactly
    // `expires_at * 1000 < now`. A revocation never goes while its AC is still valid,
    // whatever expiry the revoker passed.
    const revocations = await run(
      this.#db,
      `DELETE FROM revocations
       WHERE expires_at < $1
         AND NOT EXISTS (
           SELECT 1 FROM acs
           WHERE acs.ac_id = revocations.ac_id
             AND acs.expires_at IS NOT NULL AND acs.expires_at >= $1)`,
      [Math.ceil(ms / 1000)],
    );
    return { proofs: proofs.rowCount, revocations: revocations.rowCount };
  }
}
