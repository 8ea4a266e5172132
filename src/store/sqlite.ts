/**
 * The embedded `Store`: SQLite through better-sqlite3. better-sqlite3 is synchronous; the
 * methods are async only to match the interface that PostgreSQL will also implement.
 * Every state transition is a conditional write whose row count is the answer, so two
 * connections (or processes) racing on one AC cannot both win.
 */
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
} from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import type { ActorClaim } from '../credentials/types.js';
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { BastionError, ConfigError, InvalidArgumentError } from '../base/errors.js';
import { GENESIS, auditHash, canonicalJson } from '../base/audit-chain.js';
import { AUDIT_TYPES } from '../base/audit-records.js';
import type { AuditEntry, AuditEvent, AuditFilter, AuditType } from '../base/audit-records.js';
import { applyMigrations } from './migrations.js';
import type { AcRecord, Approval, AuditCheckpoint, Store, StoredAcState } from './store.js';

/**
 * The database cannot take the write now (locked past the busy timeout, read-only, out of
 * space, an I/O error): the request is refused as unavailable, not as a server fault.
 */
export class StoreUnavailableError extends BastionError {
  constructor() {
    super('store_unavailable');
  }
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CANTOPEN)/;

/** `insertAc` with an ac_id that is already stored. */
export class AcConflictError extends BastionError {
  constructor() {
    super('ac_conflict');
  }
}

/** A call on a store after `close()`: the broker is shutting down. */
export class StoreClosedError extends BastionError {
  constructor() {
    super('store_closed');
  }
}

export interface SqliteStoreOptions {
  /** Created with mode 0700 when missing. */
  readonly dataDir: string;
  /** A plain file name inside dataDir; default `bastion.db`. */
  readonly fileName?: string | undefined;
  /** How long a write waits for another connection's lock; default 5000 ms. */
  readonly busyTimeoutMs?: number | undefined;
}

const DEFAULT_FILE_NAME = 'bastion.db';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const CONFIG_WHERE = 'store';

// Claims are metadata; a key named like a secret, or a value shaped like a JWT or a PEM
// private key, means a caller is about to persist a credential. Refuse it.
const SECRET_NAME = /token|secret|passw|private|key_material|credential_value|api_?key/i;
const SECRET_VALUE =
  /^ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$|-----BEGIN [A-Z ]*KEY-----/;

interface AcRow {
  ac_id: string;
  principal_did: string;
  cnf_jkt: string;
  accord: string;
  connector: string;
  target: string;
  capabilities: string;
  capability_mask: number;
  duration_seconds: number;
  justification: string | null;
  act: string | null;
  approvals_required: number;
  requested_at: number;
  state: StoredAcState;
  claims: string | null;
  expires_at: number | null;
  activated_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
}

interface AuditRow {
  seq: number;
  ts: string;
  type: string;
  actor: string | null;
  principal: string | null;
  ac_id: string | null;
  invocation_id: string | null;
  connector: string | null;
  target: string | null;
  outcome: string | null;
  detail: string | null;
  prev: string;
  hash: string;
}

/** An event's columns, validated, before the transaction gives it a place in the chain. */
type AuditFields = Omit<AuditRow, 'seq' | 'prev' | 'hash'>;

const AUDIT_COLUMNS =
  'seq, ts, type, actor, principal, ac_id, invocation_id, connector, target, outcome, detail, prev, hash';
// The optional text columns, in the order entries list them.
const AUDIT_TEXT_FIELDS = [
  'actor',
  'principal',
  'ac_id',
  'invocation_id',
  'connector',
  'target',
  'outcome',
] as const;
const AUDIT_TYPE_SET: ReadonlySet<string> = new Set(AUDIT_TYPES);
const AUDIT_DEFAULT_LIMIT = 100;
const AUDIT_MAX_LIMIT = 1000;
const AUDIT_BATCH = 500;
// Bounds keep one entry (and so one sink line) small; audit is metadata, not payload.
const AUDIT_MAX_FIELD = 4096;
const AUDIT_MAX_DETAIL = 65_536;
// What AuditLog writes (Date#toISOString); one fixed shape, so `since` compares as text.
const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX_HASH = /^[0-9a-f]{64}$/;
const YEAR_10000 = Date.UTC(10000, 0, 1);

interface Statements {
  insertAc: Statement<[AcRow]>;
  getAc: Statement<[string], AcRow>;
  addApproval: Statement<[{ acId: string; approver: string; at: number }]>;
  listApprovals: Statement<[string], Approval>;
  activateAc: Statement<[{ acId: string; claims: string; expiresAt: number; at: number }]>;
  markRevoked: Statement<[{ acId: string; by: string; at: number }]>;
  insertRevocation: Statement<[{ acId: string; by: string; at: number; expiresAt: number }]>;
  isRevoked: Statement<[{ acId: string }], number>;
  rememberProof: Statement<[{ jkt: string; jti: string; expiresAt: number }]>;
  noteKeyUse: Statement<[{ kid: string; exp: number }]>;
  keyLastExpiry: Statement<[string], number>;
  deleteProofs: Statement<[{ now: number }]>;
  deleteRevocations: Statement<[{ cutoff: number }]>;
  auditHead: Statement<[], { seq: number; hash: string }>;
  insertAudit: Statement<[AuditRow]>;
  auditAfter: Statement<[{ after: number; limit: number }], AuditRow>;
  unfinished: Statement<[], AuditRow>;
  auditEntryIs: Statement<[{ seq: number; hash: string }], number>;
  insertCheckpoint: Statement<[AuditCheckpoint]>;
  latestCheckpoint: Statement<[], AuditCheckpoint>;
}

export class SqliteStore implements Store {
  #db: Db | undefined;
  readonly #stmts: Statements;
  readonly #revoke: Transaction<
    (acId: string, by: string, at: number, expiresAt: number) => boolean
  >;
  readonly #cleanup: Transaction<(now: number) => { proofs: number; revocations: number }>;
  readonly #appendAudit: Transaction<(fields: AuditFields) => AuditEntry>;
  readonly #appendAuditBatch: Transaction<(list: readonly AuditFields[]) => AuditEntry[]>;
  readonly #insertCheckpoint: Transaction<(checkpoint: AuditCheckpoint) => void>;
  /** listAudit statements by the set of filters used; the SQL text is ours, values bound. */
  readonly #listAudit = new Map<string, Statement<[Record<string, string | number>], AuditRow>>();

  /** Opens (creating and migrating as needed) `<dataDir>/<fileName>`. */
  static open(options: SqliteStoreOptions): SqliteStore {
    const fileName = options.fileName ?? DEFAULT_FILE_NAME;
    if (
      fileName === '' ||
      fileName !== basename(fileName) ||
      fileName === '.' ||
      fileName === '..' ||
      fileName.startsWith(':')
    ) {
      throw new ConfigError(CONFIG_WHERE, 'fileName must be a plain file name');
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ConfigError(CONFIG_WHERE, 'busyTimeoutMs must be a non-negative integer');
    }
    prepareDataDir(options.dataDir);
    const path = join(options.dataDir, fileName);
    precreateFile(path);

    let db: Db | undefined;
    try {
      db = new Database(path, { timeout: busyTimeoutMs });
      configure(db, busyTimeoutMs);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new ConfigError(CONFIG_WHERE, 'the database refused WAL mode');
      // SQLite gives -wal/-shm the database file's mode when it creates them; a companion
      // left from an earlier crash keeps whatever mode it had, so tighten it here.
      for (const suffix of ['-wal', '-shm']) {
        if (existsSync(path + suffix)) chmodSync(path + suffix, FILE_MODE);
      }
      applyMigrations(db);
      return new SqliteStore(db);
    } catch (err) {
      db?.close();
      throw mapOpenError(err);
    }
  }

  /** A private in-memory database, for tests. */
  static memory(): SqliteStore {
    const db = new Database(':memory:');
    try {
      configure(db, DEFAULT_BUSY_TIMEOUT_MS);
      applyMigrations(db);
      return new SqliteStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(db: Db) {
    this.#db = db;
    this.#stmts = {
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
        INSERT INTO approvals (ac_id, approver_did, approved_at)
        SELECT @acId, @approver, @at
        WHERE EXISTS (SELECT 1 FROM acs WHERE ac_id = @acId AND state = 'pending_approval')
        ON CONFLICT (ac_id, approver_did) DO NOTHING`),
      listApprovals: db.prepare(`
        SELECT approver_did, approved_at FROM approvals
        WHERE ac_id = ? ORDER BY approved_at, approver_did`),
      activateAc: db.prepare(`
        UPDATE acs SET state = 'active', claims = @claims, expires_at = @expiresAt,
          activated_at = @at
        WHERE ac_id = @acId AND state = 'pending_approval'`),
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
      auditHead: db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
      insertAudit: db.prepare(`
        INSERT INTO audit (${AUDIT_COLUMNS})
        VALUES (@seq, @ts, @type, @actor, @principal, @ac_id, @invocation_id, @connector,
          @target, @outcome, @detail, @prev, @hash)`),
      auditAfter: db.prepare(
        `SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > @after ORDER BY seq LIMIT @limit`,
      ),
      unfinished: db.prepare(`
        SELECT ${AUDIT_COLUMNS} FROM audit AS s
        WHERE s.type = 'invoke_start' AND s.invocation_id IS NOT NULL
          AND NOT EXISTS (
            SELECT 1 FROM audit AS e
            WHERE e.invocation_id = s.invocation_id
              AND e.type IN ('invoke_end', 'invoke_interrupted'))
        ORDER BY s.seq`),
      auditEntryIs: db
        .prepare<[{ seq: number; hash: string }], number>(
          'SELECT EXISTS (SELECT 1 FROM audit WHERE seq = @seq AND hash = @hash)',
        )
        .pluck(),
      insertCheckpoint: db.prepare(`
        INSERT INTO audit_checkpoints (seq, hash, ts, jws) VALUES (@seq, @hash, @ts, @jws)
        ON CONFLICT (seq) DO NOTHING`),
      latestCheckpoint: db.prepare(
        'SELECT seq, hash, ts, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
      ),
    };
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
    // Reading the head and inserting after it under one write lock: two appenders (here or
    // in another process) serialise, so each seq is taken once and every prev is the
    // hash of the entry just before it.
    this.#appendAudit = db.transaction((fields: AuditFields): AuditEntry => {
      const head = s.auditHead.get();
      const row: AuditRow = {
        ...fields,
        seq: (head?.seq ?? 0) + 1,
        prev: head?.hash ?? GENESIS,
        hash: '',
      };
      const entry = fromAuditRow(row);
      row.hash = auditHash(entry);
      s.insertAudit.run(row);
      return { ...entry, hash: row.hash };
    });
    // Nested calls of a transaction function become savepoints: one commit for the batch.
    this.#appendAuditBatch = db.transaction((list: readonly AuditFields[]): AuditEntry[] =>
      list.map((fields) => this.#appendAudit(fields)),
    );
    this.#insertCheckpoint = db.transaction((checkpoint: AuditCheckpoint): void => {
      // A checkpoint vouches for an entry; one naming an entry that is not there is a bug.
      if (s.auditEntryIs.get(checkpoint) !== 1) {
        throw new InvalidArgumentError('audit checkpoint');
      }
      s.insertCheckpoint.run(checkpoint);
    });
  }

  insertAc(record: AcRecord): Promise<void> {
    return this.#call(() => {
      const row = toRow(record);
      try {
        this.#stmts.insertAc.run(row);
      } catch (err) {
        throw mapWriteError(err);
      }
    });
  }

  getAc(acId: string): Promise<AcRecord | undefined> {
    return this.#call(() => {
      const row = this.#stmts.getAc.get(text(acId, 'ac_id'));
      return row === undefined ? undefined : fromRow(row);
    });
  }

  addApproval(acId: string, approverDid: string, at: number): Promise<boolean> {
    return this.#call(() => {
      const params = {
        acId: text(acId, 'ac_id'),
        approver: text(approverDid, 'approver DID'),
        at: int(at, 'approval time'),
      };
      return this.#stmts.addApproval.run(params).changes === 1;
    });
  }

  listApprovals(acId: string): Promise<Approval[]> {
    return this.#call(() => this.#stmts.listApprovals.all(text(acId, 'ac_id')));
  }

  activateAc(
    acId: string,
    claims: Record<string, unknown>,
    expiresAt: number,
    at: number,
  ): Promise<boolean> {
    return this.#call(() => {
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
    });
  }

  revokeAc(acId: string, by: string, at: number, expiresAt: number): Promise<boolean> {
    return this.#call(() =>
      // IMMEDIATE: take the write lock before reading, so a racing writer waits, not fails.
      this.#revoke.immediate(
        text(acId, 'ac_id'),
        text(by, 'revoker'),
        int(at, 'revocation time'),
        int(expiresAt, 'revocation expiry'),
      ),
    );
  }

  isRevoked(acId: string): Promise<boolean> {
    return this.#call(() => this.#stmts.isRevoked.get({ acId: text(acId, 'ac_id') }) === 1);
  }

  rememberProof(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.#call(() => {
      const params = {
        jkt: text(jkt, 'proof key thumbprint'),
        jti: text(jti, 'proof jti'),
        expiresAt: int(expiresAt, 'proof expiry'),
      };
      // Not its own fsync: in WAL mode a NORMAL commit reaches the disk with the next FULL
      // one, and every request that acts on a proof next writes an audit entry (FULL)
      // before acting. A crash in between forgets only jtis of requests that did nothing.
      const db = this.#db;
      db?.pragma('synchronous = NORMAL');
      try {
        return this.#stmts.rememberProof.run(params).changes === 1;
      } finally {
        db?.pragma('synchronous = FULL');
      }
    });
  }

  noteKeyUse(kid: string, exp: number): Promise<void> {
    return this.#call(() => {
      this.#stmts.noteKeyUse.run({ kid: text(kid, 'kid'), exp: int(exp, 'key use expiry') });
    });
  }

  keyLastExpiry(kid: string): Promise<number | undefined> {
    return this.#call(() => this.#stmts.keyLastExpiry.get(text(kid, 'kid')));
  }

  cleanup(now: number): Promise<{ proofs: number; revocations: number }> {
    return this.#call(() => this.#cleanup.immediate(int(now, 'cleanup time')));
  }

  appendAudit(event: AuditEvent, ts: string): Promise<AuditEntry> {
    return this.#call(() => this.#appendAudit.immediate(auditFields(event, ts)));
  }

  appendAuditBatch(events: readonly AuditEvent[], ts: string): Promise<AuditEntry[]> {
    return this.#call(() =>
      this.#appendAuditBatch.immediate(events.map((event) => auditFields(event, ts))),
    );
  }

  auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return this.#call(() => this.#stmts.auditHead.get());
  }

  listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.#call(() => {
      const { key, sql, params } = auditQuery(filter);
      let stmt = this.#listAudit.get(key);
      if (stmt === undefined) {
        stmt = this.#db?.prepare<[Record<string, string | number>], AuditRow>(sql);
        if (stmt === undefined) throw new StoreClosedError();
        this.#listAudit.set(key, stmt);
      }
      return stmt.all(params).map(fromAuditRow);
    });
  }

  async *iterateAudit(afterSeq = 0): AsyncIterable<AuditEntry> {
    let after = int(afterSeq, 'audit seq');
    for (;;) {
      // One short read per batch: no read transaction is held open between batches.
      const rows = await this.#call(() =>
        this.#stmts.auditAfter.all({ after, limit: AUDIT_BATCH }),
      );
      for (const row of rows) yield fromAuditRow(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < AUDIT_BATCH) return;
      after = last.seq;
    }
  }

  unfinishedInvocations(): Promise<AuditEntry[]> {
    return this.#call(() => this.#stmts.unfinished.all().map(fromAuditRow));
  }

  insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    return this.#call(() => {
      const row: AuditCheckpoint = {
        seq: int(checkpoint.seq, 'audit checkpoint seq'),
        hash: hexHash(checkpoint.hash, 'audit checkpoint hash'),
        ts: isoTs(checkpoint.ts, 'audit checkpoint time'),
        jws: text(checkpoint.jws, 'audit checkpoint signature'),
      };
      this.#insertCheckpoint.immediate(row);
    });
  }

  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return this.#call(() => this.#stmts.latestCheckpoint.get());
  }

  /** Closes the database; idempotent. Every other call afterwards rejects. */
  close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    return new Promise((resolve) => {
      db?.close();
      resolve();
    });
  }

  /**
   * Runs synchronous better-sqlite3 work now and hands back its outcome as a Promise; a
   * throw in the executor (closed store, bad argument, SQLite error) becomes a rejection.
   */
  #call<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.#db === undefined) throw new StoreClosedError();
      try {
        resolve(work());
      } catch (err) {
        if (isSqliteError(err) && UNAVAILABLE.test(err.code)) throw new StoreUnavailableError();
        throw err;
      }
    });
  }
}

function configure(db: Db, busyTimeoutMs: number): void {
  // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and a
  // lost revocation silently re-enables an AC. The fsync per commit is the price.
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`); // validated integer, not a value from SQL input
  db.pragma('foreign_keys = ON');
  // Schema objects must not call application functions; defence against a tampered file.
  db.pragma('trusted_schema = OFF');
}

function prepareDataDir(dataDir: string): void {
  if (typeof dataDir !== 'string' || dataDir === '') {
    throw new ConfigError(CONFIG_WHERE, 'dataDir is required');
  }
  let created: string | undefined;
  try {
    created = mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  } catch {
    throw new ConfigError(CONFIG_WHERE, 'dataDir cannot be created or is not a directory');
  }
  // mode passes through the umask, which can only narrow it; chmod makes it exact on every
  // directory created here (mkdir returns the topmost). Existing ones are the operator's.
  if (created !== undefined) {
    let dir = created;
    chmodSync(dir, DIR_MODE);
    for (const part of relative(created, resolve(dataDir)).split(sep).filter(Boolean)) {
      dir = join(dir, part);
      chmodSync(dir, DIR_MODE);
    }
  }
}

/**
 * Creates the database file 0600 before SQLite opens it (SQLite would use 0644 less the
 * umask), tightens an existing one, and refuses a symlink in its place.
 */
function precreateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, FILE_MODE);
  } catch {
    throw new ConfigError(CONFIG_WHERE, 'the database file cannot be opened (or is a symlink)');
  }
  try {
    if (!fstatSync(fd).isFile()) {
      throw new ConfigError(CONFIG_WHERE, 'the database path is not a regular file');
    }
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

function isSqliteError(err: unknown): err is InstanceType<typeof Database.SqliteError> {
  return err instanceof Database.SqliteError;
}

function mapOpenError(err: unknown): unknown {
  if (!isSqliteError(err)) return err;
  if (err.code === 'SQLITE_NOTADB' || err.code.startsWith('SQLITE_CORRUPT')) {
    return new ConfigError(CONFIG_WHERE, 'the database file is not a readable SQLite database');
  }
  if (err.code.startsWith('SQLITE_CANTOPEN') || err.code.startsWith('SQLITE_READONLY')) {
    return new ConfigError(CONFIG_WHERE, 'the database file cannot be opened for writing');
  }
  return err;
}

function mapWriteError(err: unknown): unknown {
  if (!isSqliteError(err)) return err;
  if (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new AcConflictError();
  }
  if (
    err.code === 'SQLITE_CONSTRAINT_CHECK' ||
    err.code === 'SQLITE_CONSTRAINT_NOTNULL' ||
    err.code === 'SQLITE_CONSTRAINT_DATATYPE'
  ) {
    return new InvalidArgumentError('authorization context record');
  }
  return err;
}

function text(value: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(what);
  return value;
}

function optionalText(value: string | undefined, what: string): string | null {
  return value === undefined ? null : text(value, what);
}

function int(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(what);
  return value;
}

function optionalInt(value: number | undefined, what: string): number | null {
  return value === undefined ? null : int(value, what);
}

function claimsJson(claims: Readonly<Record<string, unknown>>): string {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new InvalidArgumentError('AC claims');
  }
  if (looksSecret(claims)) throw new InvalidArgumentError('AC claims');
  return JSON.stringify(claims);
}

function looksSecret(value: unknown): boolean {
  if (typeof value === 'string') return SECRET_VALUE.test(value);
  if (Array.isArray(value)) return value.some(looksSecret);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => SECRET_NAME.test(k) || looksSecret(v));
  }
  return false;
}

function isoTs(value: string, what: string): string {
  if (typeof value !== 'string' || !ISO_TS.test(value)) throw new InvalidArgumentError(what);
  return value;
}

function hexHash(value: string, what: string): string {
  if (typeof value !== 'string' || !HEX_HASH.test(value)) throw new InvalidArgumentError(what);
  return value;
}

/**
 * An event's columns, checked before the transaction: a known type, bounded non-empty
 * text, and nothing that looks like a credential — the same refusal as for AC claims, on
 * the detail's keys and values and on every text field.
 */
function auditFields(event: AuditEvent, ts: string): AuditFields {
  if (typeof event !== 'object' || event === null || !AUDIT_TYPE_SET.has(event.type)) {
    throw new InvalidArgumentError('audit event type');
  }
  const fields: AuditFields = {
    ts: isoTs(ts, 'audit time'),
    type: event.type,
    actor: null,
    principal: null,
    ac_id: null,
    invocation_id: null,
    connector: null,
    target: null,
    outcome: null,
    detail: null,
  };
  for (const name of AUDIT_TEXT_FIELDS) {
    const value = event[name];
    if (value === undefined) continue;
    if (
      typeof value !== 'string' ||
      value === '' ||
      value.length > AUDIT_MAX_FIELD ||
      SECRET_VALUE.test(value)
    ) {
      throw new InvalidArgumentError('audit event field');
    }
    fields[name] = value;
  }
  if (event.detail !== undefined) {
    const detail = event.detail;
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      throw new InvalidArgumentError('audit detail');
    }
    if (looksSecret(detail)) throw new InvalidArgumentError('audit detail');
    let json: string;
    try {
      // Stored canonical, so what is read back re-hashes to exactly what was hashed.
      json = canonicalJson(detail);
    } catch {
      throw new InvalidArgumentError('audit detail');
    }
    if (json.length > AUDIT_MAX_DETAIL) throw new InvalidArgumentError('audit detail');
    fields.detail = json;
  }
  return fields;
}

/** The entry a row holds; NULL columns become absent fields, as they were on append. */
function fromAuditRow(row: AuditRow): AuditEntry {
  const entry: { -readonly [K in keyof AuditEntry]: AuditEntry[K] } = {
    seq: row.seq,
    ts: row.ts,
    type: row.type as AuditType,
    prev: row.prev,
    hash: row.hash,
  };
  for (const name of AUDIT_TEXT_FIELDS) {
    const value = row[name];
    if (value !== null) entry[name] = value;
  }
  if (row.detail !== null) entry.detail = JSON.parse(row.detail) as Record<string, unknown>;
  return entry;
}

/** The SQL for one combination of filters, a cache key naming that combination, and its values. */
function auditQuery(filter: AuditFilter): {
  key: string;
  sql: string;
  params: Record<string, string | number>;
} {
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('audit filter');
  const limit = filter.limit === undefined ? AUDIT_DEFAULT_LIMIT : int(filter.limit, 'audit limit');
  if (limit === 0) throw new InvalidArgumentError('audit limit');
  const params: Record<string, string | number> = {
    after: filter.after === undefined ? 0 : int(filter.after, 'audit seq'),
    limit: Math.min(limit, AUDIT_MAX_LIMIT),
  };
  const where = ['seq > @after'];
  const key: string[] = [];
  if (filter.type !== undefined) {
    if (!AUDIT_TYPE_SET.has(filter.type)) throw new InvalidArgumentError('audit type filter');
    params['type'] = filter.type;
    where.push('type = @type');
    key.push('type');
  }
  if (filter.ac_id !== undefined) {
    params['ac_id'] = text(filter.ac_id, 'audit ac_id filter');
    where.push('ac_id = @ac_id');
    key.push('ac_id');
  }
  if (filter.did !== undefined) {
    params['did'] = text(filter.did, 'audit DID filter');
    where.push('(actor = @did OR principal = @did)');
    key.push('did');
  }
  if (filter.since !== undefined) {
    // Normalised to the stored shape, so text order is time order.
    const ms = typeof filter.since === 'string' ? Date.parse(filter.since) : NaN;
    if (!Number.isFinite(ms)) throw new InvalidArgumentError('audit since filter');
    // Past year 9999 toISOString gives '+010000-…', which sorts before every stored time.
    params['since'] = ms >= YEAR_10000 ? '~' : new Date(ms).toISOString();
    where.push('ts >= @since');
    key.push('since');
  }
  return {
    key: key.join(','),
    sql: `SELECT ${AUDIT_COLUMNS} FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`,
    params,
  };
}

function toRow(r: AcRecord): AcRow {
  // A revoked AC enters through revokeAc, which also writes its revocation entry.
  if (r.state !== 'pending_approval' && r.state !== 'active') {
    throw new InvalidArgumentError('AC state');
  }
  if (!Array.isArray(r.capabilities) || !r.capabilities.every((c) => typeof c === 'string')) {
    throw new InvalidArgumentError('AC capabilities');
  }
  if (r.justification !== undefined && SECRET_VALUE.test(r.justification)) {
    throw new InvalidArgumentError('AC justification');
  }
  return {
    ac_id: text(r.ac_id, 'ac_id'),
    principal_did: text(r.principal_did, 'principal DID'),
    cnf_jkt: text(r.cnf_jkt, 'cnf.jkt'),
    accord: text(r.accord, 'accord'),
    connector: text(r.connector, 'connector'),
    target: text(r.target, 'target'),
    capabilities: JSON.stringify(r.capabilities),
    capability_mask: int(r.capability_mask, 'capability mask'),
    duration_seconds: int(r.duration_seconds, 'duration'),
    justification: r.justification ?? null,
    act: r.act === undefined ? null : JSON.stringify(r.act),
    approvals_required: int(r.approvals_required, 'approvals required'),
    requested_at: int(r.requested_at, 'request time'),
    state: r.state,
    claims: r.claims === undefined ? null : claimsJson(r.claims),
    expires_at: optionalInt(r.expires_at, 'AC expiry'),
    activated_at: optionalInt(r.activated_at, 'activation time'),
    revoked_at: optionalInt(r.revoked_at, 'revocation time'),
    revoked_by: optionalText(r.revoked_by, 'revoker'),
  };
}

function fromRow(row: AcRow): AcRecord {
  const record: {
    -readonly [K in keyof AcRecord]: AcRecord[K];
  } = {
    ac_id: row.ac_id,
    principal_did: row.principal_did,
    cnf_jkt: row.cnf_jkt,
    accord: row.accord,
    connector: row.connector,
    target: row.target,
    capabilities: JSON.parse(row.capabilities) as string[],
    capability_mask: row.capability_mask,
    duration_seconds: row.duration_seconds,
    approvals_required: row.approvals_required,
    requested_at: row.requested_at,
    state: row.state,
  };
  // NULL columns become absent properties, as the optional fields were before insert.
  if (row.justification !== null) record.justification = row.justification;
  if (row.act !== null) record.act = JSON.parse(row.act) as ActorClaim;
  if (row.claims !== null) record.claims = JSON.parse(row.claims) as Record<string, unknown>;
  if (row.expires_at !== null) record.expires_at = row.expires_at;
  if (row.activated_at !== null) record.activated_at = row.activated_at;
  if (row.revoked_at !== null) record.revoked_at = row.revoked_at;
  if (row.revoked_by !== null) record.revoked_by = row.revoked_by;
  return record;
}
