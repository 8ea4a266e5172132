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
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { BastionError, ConfigError, InvalidArgumentError, defineErrorCode } from '../errors.js';
import { applyMigrations } from './migrations.js';
import type { AcRecord, Approval, Store, StoredAcState } from './store.js';

export const StoreErrorCodes = {
  acConflict: defineErrorCode('ac_conflict'),
  storeClosed: defineErrorCode('store_closed'),
} as const;

/** `insertAc` with an ac_id that is already stored. */
export class AcConflictError extends BastionError {
  constructor() {
    super(StoreErrorCodes.acConflict, 'An authorization context with this id already exists', 409);
  }
}

/** A call on a store after `close()`: the broker is shutting down. */
export class StoreClosedError extends BastionError {
  constructor() {
    super(StoreErrorCodes.storeClosed, 'The store is closed', 503);
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
  approvals_required: number;
  requested_at: number;
  state: StoredAcState;
  claims: string | null;
  expires_at: number | null;
  activated_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
}

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
}

export class SqliteStore implements Store {
  #db: Db | undefined;
  readonly #stmts: Statements;
  readonly #revoke: Transaction<
    (acId: string, by: string, at: number, expiresAt: number) => boolean
  >;
  readonly #cleanup: Transaction<(now: number) => { proofs: number; revocations: number }>;

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
          capabilities, capability_mask, duration_seconds, justification, approvals_required,
          requested_at, state, claims, expires_at, activated_at, revoked_at, revoked_by)
        VALUES (@ac_id, @principal_did, @cnf_jkt, @accord, @connector, @target,
          @capabilities, @capability_mask, @duration_seconds, @justification,
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
      return this.#stmts.rememberProof.run(params).changes === 1;
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
      resolve(work());
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
  if (row.claims !== null) record.claims = JSON.parse(row.claims) as Record<string, unknown>;
  if (row.expires_at !== null) record.expires_at = row.expires_at;
  if (row.activated_at !== null) record.activated_at = row.activated_at;
  if (row.revoked_at !== null) record.revoked_at = row.revoked_at;
  if (row.revoked_by !== null) record.revoked_by = row.revoked_by;
  return record;
}
