/**
 * The authorization half of the SQLite store: ACs, approvals, revocations, DPoP proof jtis,
 * signing-key usage and the cleanup of what has expired. Every state transition is a
 * conditional write whose row count is the answer, so two connections (or processes)
 * racing on one AC cannot both win. Synchronous; `SqliteStore` runs it behind its guard.
 */
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { InvalidArgumentError } from '../base/errors.js';
import { AC_STATES, acQuery } from './ac-query.js';
import { type AcRow, approvalOf, claimsJson, commentText, fromRow, toRow } from './ac-row.js';
import type { ListParams } from './audit-query.js';
import { int, text } from './checks.js';
import { mapWriteError } from './sqlite-errors.js';
import type { AcFilter, AcRecord, Approval } from './store.js';
import type { ApprovalRow } from './ac-row.js';

interface AcStatements {
  insertAc: Statement<[AcRow]>;
  getAc: Statement<[string], AcRow>;
  addApproval: Statement<[{ acId: string; approver: string; at: number; comment: string | null }]>;
  denyAc: Statement<[{ acId: string; by: string; at: number; comment: string | null }]>;
  listApprovals: Statement<[string], ApprovalRow>;
  activateAc: Statement<[{ acId: string; claims: string; expiresAt: number; at: number }]>;
  markRevoked: Statement<[{ acId: string; by: string; at: number }]>;
  insertRevocation: Statement<[{ acId: string; by: string; at: number; expiresAt: number }]>;
  isRevoked: Statement<[{ acId: string }], number>;
  countAcs: Statement<[string], number>;
  rememberProof: Statement<[{ jkt: string; jti: string; expiresAt: number }]>;
  noteKeyUse: Statement<[{ kid: string; exp: number }]>;
  keyLastExpiry: Statement<[string], number>;
  deleteProofs: Statement<[{ now: number }]>;
  deleteRevocations: Statement<[{ cutoff: number }]>;
}

function prepare(db: Db): AcStatements {
  return {
    insertAc: db.prepare(`
      INSERT INTO acs (ac_id, principal_did, cnf_jkt, accord, connector, target,
        capabilities, capability_mask, duration_seconds, justification, act, approvals_required,
        requested_at, state, claims, expires_at, activated_at, revoked_at, revoked_by)
      VALUES (@ac_id, @principal_did, @cnf_jkt, @accord, @connector, @target,
        @capabilities, @capability_mask, @duration_seconds, @justification, @act,
        @approvals_required, @requested_at, @state, @claims, @expires_at, @activated_at,
        @revoked_at, @revoked_by)`),
    getAc: db.prepare('SELECT * FROM acs WHERE ac_id = ?'),
    // The WHERE makes "only while pending" part of the same statement as the insert; the
    // primary key makes a repeat approver a no-op.
    addApproval: db.prepare(`
      INSERT INTO approvals (ac_id, approver_did, approved_at, comment)
      SELECT @acId, @approver, @at, @comment
      WHERE EXISTS (SELECT 1 FROM acs
        WHERE ac_id = @acId AND state = 'pending_approval' AND denied_at IS NULL)
      ON CONFLICT (ac_id, approver_did) DO NOTHING`),
    denyAc: db.prepare(`
      UPDATE acs SET denied_at = @at, denied_by = @by, denial_comment = @comment
      WHERE ac_id = @acId AND state = 'pending_approval' AND denied_at IS NULL`),
    listApprovals: db.prepare(`
      SELECT approver_did, approved_at, comment FROM approvals
      WHERE ac_id = ? ORDER BY approved_at, approver_did`),
    activateAc: db.prepare(`
      UPDATE acs SET state = 'active', claims = @claims, expires_at = @expiresAt,
        activated_at = @at
      WHERE ac_id = @acId AND state = 'pending_approval' AND denied_at IS NULL`),
    markRevoked: db.prepare(`
      UPDATE acs SET state = 'revoked', revoked_at = @at, revoked_by = @by
      WHERE ac_id = @acId AND state <> 'revoked'`),
    // A conflict cannot happen after the conditional update above; if it ever does, keep
    // the later expiry rather than shorten a revocation.
    insertRevocation: db.prepare(`
      INSERT INTO revocations (ac_id, revoked_at, revoked_by, expires_at)
      VALUES (@acId, @at, @by, @expiresAt)
      ON CONFLICT (ac_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`),
    // The state column keeps answering after cleanup has pruned an expired AC's entry.
    isRevoked: db
      .prepare<[{ acId: string }], number>(
        `SELECT EXISTS (SELECT 1 FROM revocations WHERE ac_id = @acId)
             OR EXISTS (SELECT 1 FROM acs WHERE ac_id = @acId AND state = 'revoked')`,
      )
      .pluck(),
    // A denied request is no longer waiting for anyone.
    countAcs: db
      .prepare<[string], number>('SELECT count(*) FROM acs WHERE state = ? AND denied_at IS NULL')
      .pluck(),
    rememberProof: db.prepare(`
      INSERT INTO proof_jtis (jkt, jti, expires_at) VALUES (@jkt, @jti, @expiresAt)
      ON CONFLICT (jkt, jti) DO NOTHING`),
    noteKeyUse: db.prepare(`
      INSERT INTO key_usage (kid, last_exp) VALUES (@kid, @exp)
      ON CONFLICT (kid) DO UPDATE SET last_exp = max(last_exp, excluded.last_exp)`),
    keyLastExpiry: db
      .prepare<[string], number>('SELECT last_exp FROM key_usage WHERE kid = ?')
      .pluck(),
    deleteProofs: db.prepare('DELETE FROM proof_jtis WHERE expires_at < @now'),
    // `cutoff` is now in whole seconds rounded up, so `expires_at < cutoff` is exactly
    // `expires_at * 1000 < now`. The AC's own expiry is checked too: a revocation never
    // goes while its AC is still valid, whatever expiry the revoker passed.
    deleteRevocations: db.prepare(`
      DELETE FROM revocations
      WHERE expires_at < @cutoff
        AND NOT EXISTS (
          SELECT 1 FROM acs
          WHERE acs.ac_id = revocations.ac_id
            AND acs.expires_at IS NOT NULL AND acs.expires_at >= @cutoff)`),
  };
}

/** The `Store` methods on ACs, proofs and keys, synchronous, with the same contracts. */
export class SqliteAcs {
  readonly #db: Db;
  readonly #stmts: AcStatements;
  /** listAcs statements by the shape of their filter; the SQL text is ours, values bound. */
  readonly #list = new Map<string, Statement<[ListParams], AcRow>>();
  readonly #revoke: Transaction<
    (acId: string, by: string, at: number, expiresAt: number) => boolean
  >;
  readonly #cleanup: Transaction<(now: number) => { proofs: number; revocations: number }>;

  constructor(db: Db) {
    this.#db = db;
    this.#stmts = prepare(db);
    const s = this.#stmts;
    this.#revoke = db.transaction(
      (acId: string, by: string, at: number, expiresAt: number): boolean => {
        if (s.markRevoked.run({ acId, by, at }).changes === 0) return false;
        s.insertRevocation.run({ acId, by, at, expiresAt });
        return true;
      },
    );
    this.#cleanup = db.transaction((now: number) => ({
      proofs: s.deleteProofs.run({ now }).changes,
      revocations: s.deleteRevocations.run({ cutoff: Math.ceil(now / 1000) }).changes,
    }));
  }

  insertAc(record: AcRecord): void {
    const row = toRow(record);
    try {
      this.#stmts.insertAc.run(row);
    } catch (err) {
      throw mapWriteError(err);
    }
  }

  getAc(acId: string): AcRecord | undefined {
    const row = this.#stmts.getAc.get(text(acId, 'ac_id'));
    return row === undefined ? undefined : fromRow(row);
  }

  addApproval(acId: string, approverDid: string, at: number, comment?: string): boolean {
    const params = {
      acId: text(acId, 'ac_id'),
      approver: text(approverDid, 'approver DID'),
      at: int(at, 'approval time'),
      comment: commentText(comment),
    };
    return this.#stmts.addApproval.run(params).changes === 1;
  }

  denyAc(acId: string, by: string, at: number, comment?: string): boolean {
    const params = {
      acId: text(acId, 'ac_id'),
      by: text(by, 'denier DID'),
      at: int(at, 'denial time'),
      comment: commentText(comment),
    };
    return this.#stmts.denyAc.run(params).changes === 1;
  }

  listApprovals(acId: string): Approval[] {
    return this.#stmts.listApprovals.all(text(acId, 'ac_id')).map(approvalOf);
  }

  listAcs(filter: AcFilter): AcRecord[] {
    const { key, sql, params } = acQuery(filter);
    let stmt = this.#list.get(key);
    if (stmt === undefined) {
      stmt = this.#db.prepare<[ListParams], AcRow>(sql);
      this.#list.set(key, stmt);
    }
    return stmt.all(params).map(fromRow);
  }

  activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): boolean {
    const params = {
      acId: text(acId, 'ac_id'),
      claims: claimsJson(claims),
      expiresAt: int(expiresAt, 'AC expiry'),
      at: int(at, 'activation time'),
    };
    try {
      return this.#stmts.activateAc.run(params).changes === 1;
    } catch (err) {
      throw mapWriteError(err);
    }
  }

  revokeAc(acId: string, by: string, at: number, expiresAt: number): boolean {
    // IMMEDIATE: take the write lock before reading, so a racing writer waits, not fails.
    return this.#revoke.immediate(
      text(acId, 'ac_id'),
      text(by, 'revoker'),
      int(at, 'revocation time'),
      int(expiresAt, 'revocation expiry'),
    );
  }

  countAcs(state: string): number {
    if (!AC_STATES.has(state)) throw new InvalidArgumentError('AC state');
    return this.#stmts.countAcs.get(state) ?? 0;
  }

  isRevoked(acId: string): boolean {
    return this.#stmts.isRevoked.get({ acId: text(acId, 'ac_id') }) === 1;
  }

  rememberProof(jkt: string, jti: string, expiresAt: number): boolean {
    const params = {
      jkt: text(jkt, 'proof key thumbprint'),
      jti: text(jti, 'proof jti'),
      expiresAt: int(expiresAt, 'proof expiry'),
    };
    // Not its own fsync: the writer commits it NORMAL when it commits alone (see
    // syncNeed in sqlite-writes.ts).
    return this.#stmts.rememberProof.run(params).changes === 1;
  }

  noteKeyUse(kid: string, exp: number): void {
    this.#stmts.noteKeyUse.run({ kid: text(kid, 'kid'), exp: int(exp, 'key use expiry') });
  }

  keyLastExpiry(kid: string): number | undefined {
    return this.#stmts.keyLastExpiry.get(text(kid, 'kid'));
  }

  cleanup(now: number): { proofs: number; revocations: number } {
    return this.#cleanup.immediate(int(now, 'cleanup time'));
  }
}
