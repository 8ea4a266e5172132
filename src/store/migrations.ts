/**
 * The SQLite schema as an ordered list of migrations, and the code that applies them.
 * `schema_migrations` records each applied version; applying is idempotent and happens in
 * one IMMEDIATE transaction, so two processes opening the same file cannot both migrate.
 * A database from a newer Bastion is refused rather than guessed at.
 *
 * Every column holds metadata only: no token, private key or secret has a column, and
 * `kid` / `cnf_jkt` are public key identifiers.
 */
import type { Database } from 'better-sqlite3';
import { ConfigError } from '../base/errors.js';

export interface Migration {
  /** Strictly increasing, starting at 1; never renumber or edit a released migration. */
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    // STRICT tables so a wrongly typed value fails instead of being stored as text.
    sql: `
      CREATE TABLE acs (
        ac_id              TEXT    NOT NULL PRIMARY KEY,
        principal_did      TEXT    NOT NULL,
        cnf_jkt            TEXT    NOT NULL,
        accord             TEXT    NOT NULL,
        connector          TEXT    NOT NULL,
        target             TEXT    NOT NULL,
        capabilities       TEXT    NOT NULL
          CHECK (json_valid(capabilities) AND json_type(capabilities) = 'array'),
        capability_mask    INTEGER NOT NULL,
        duration_seconds   INTEGER NOT NULL,
        justification      TEXT,
        approvals_required INTEGER NOT NULL CHECK (approvals_required >= 0),
        requested_at       INTEGER NOT NULL,
        state              TEXT    NOT NULL
          CHECK (state IN ('pending_approval', 'active', 'revoked')),
        claims             TEXT
          CHECK (claims IS NULL OR (json_valid(claims) AND json_type(claims) = 'object')),
        expires_at         INTEGER,
        activated_at       INTEGER,
        revoked_at         INTEGER,
        revoked_by         TEXT,
        -- An active AC without an expiry would never expire.
        CHECK (state <> 'active' OR (claims IS NOT NULL AND expires_at IS NOT NULL))
      ) STRICT;

      CREATE TABLE approvals (
        ac_id        TEXT    NOT NULL REFERENCES acs (ac_id) ON DELETE CASCADE,
        approver_did TEXT    NOT NULL,
        approved_at  INTEGER NOT NULL,
        -- One approver never counts twice.
        PRIMARY KEY (ac_id, approver_did)
      ) STRICT, WITHOUT ROWID;

      -- No foreign key: a revocation must outlive anything that might prune ACs.
      CREATE TABLE revocations (
        ac_id      TEXT    NOT NULL PRIMARY KEY,
        revoked_at INTEGER NOT NULL,
        revoked_by TEXT    NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX revocations_expires_at ON revocations (expires_at);

      CREATE TABLE proof_jtis (
        jkt        TEXT    NOT NULL,
        jti        TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (jkt, jti)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX proof_jtis_expires_at ON proof_jtis (expires_at);

      CREATE TABLE key_usage (
        kid      TEXT    NOT NULL PRIMARY KEY,
        last_exp INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    // The audit trail. `seq` is assigned by the appender (head + 1 inside one IMMEDIATE
    // transaction), not by AUTOINCREMENT, so a gap is evidence of a deletion. `type` has no
    // CHECK so that a later Bastion can add event types without rebuilding the table.
    // The triggers make UPDATE and DELETE fail: Bastion's code never does either, and a
    // bug that tried would otherwise silently break the chain. (Someone with the file can
    // drop them; the hash chain, the signed checkpoints and the external sink are what
    // catch that.)
    sql: `
      CREATE TABLE audit (
        seq           INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
        ts            TEXT    NOT NULL,
        type          TEXT    NOT NULL,
        actor         TEXT,
        principal     TEXT,
        ac_id         TEXT,
        invocation_id TEXT,
        connector     TEXT,
        target        TEXT,
        outcome       TEXT,
        detail        TEXT
          CHECK (detail IS NULL OR (json_valid(detail) AND json_type(detail) = 'object')),
        prev          TEXT    NOT NULL CHECK (length(prev) = 64),
        hash          TEXT    NOT NULL CHECK (length(hash) = 64)
      ) STRICT;
      CREATE INDEX audit_type ON audit (type, seq);
      CREATE INDEX audit_ac_id ON audit (ac_id, seq) WHERE ac_id IS NOT NULL;
      CREATE INDEX audit_actor ON audit (actor, seq) WHERE actor IS NOT NULL;
      CREATE INDEX audit_principal ON audit (principal, seq) WHERE principal IS NOT NULL;
      CREATE INDEX audit_ts ON audit (ts);
      CREATE INDEX audit_invocation ON audit (invocation_id, type)
        WHERE invocation_id IS NOT NULL;

      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;

      CREATE TABLE audit_checkpoints (
        seq  INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
        hash TEXT    NOT NULL CHECK (length(hash) = 64),
        ts   TEXT    NOT NULL,
        jws  TEXT    NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
      CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
    `,
  },
  {
    version: 3,
    // Delegation: the RFC 8693 `act` chain of an AC issued for an agent (JSON), kept from
    // the request so that an AC activated later by approvals still names its agent.
    sql: `ALTER TABLE acs ADD COLUMN act TEXT CHECK (act IS NULL OR json_type(act) = 'object');`,
  },
  {
    version: 4,
    // What replicas share beyond the trail (used on SQLite when configured): the signing
    // keyring, each active private key wrapped under a KEK the database never holds (see
    // signing-keys.ts for why that ciphertext may be stored), at most one active key; and
    // rate-limit windows, one row per key and window, deleted by cleanup once ended.
    sql: `
      CREATE TABLE signing_keys (
        kid        TEXT    NOT NULL PRIMARY KEY,
        x          TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        version    INTEGER NOT NULL,
        wrapped    TEXT,
        seal       TEXT    NOT NULL,
        -- The active key has its wrapped private key; a retired key never keeps it.
        CHECK ((retired_at IS NULL) = (wrapped IS NOT NULL))
      ) STRICT, WITHOUT ROWID;
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL))
        WHERE retired_at IS NULL;

      CREATE TABLE rate_windows (
        key          TEXT    NOT NULL,
        window_start INTEGER NOT NULL,
        count        INTEGER NOT NULL,
        PRIMARY KEY (key, window_start)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX rate_windows_start ON rate_windows (window_start);
    `,
  },
  {
    version: 5,
    // Decisions with a comment: an approval's comment, and an approver's denial of a
    // pending request. A denied request keeps state 'pending_approval' with its denial
    // beside it (a CHECK cannot change without rebuilding the table, which would cascade
    // to approvals); every write that needs a pending AC also needs it undenied.
    sql: `
      ALTER TABLE approvals ADD COLUMN comment TEXT;
      ALTER TABLE acs ADD COLUMN denied_at INTEGER;
      ALTER TABLE acs ADD COLUMN denied_by TEXT;
      ALTER TABLE acs ADD COLUMN denial_comment TEXT;
    `,
  },
];

/** The schema version this code writes; a database above it is refused. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

const WHERE = 'store';

/**
 * Brings `db` to the latest version of `migrations` and returns the versions before and
 * after. Throws ConfigError when the database holds a version this code does not know
 * (a newer Bastion wrote it), leaving the database untouched.
 */
export function applyMigrations(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  const run = db.transaction((): { from: number; to: number } => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER NOT NULL PRIMARY KEY,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const applied = db
      .prepare<[], number>('SELECT version FROM schema_migrations ORDER BY version')
      .pluck()
      .all();
    const { from, to } = pendingVersions(applied, migrations);
    const record = db.prepare<[number, number]>(
      'INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)',
    );
    const done = new Set(applied);
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }
    return { from, to };
  });
  // IMMEDIATE takes the write lock up front, so a concurrent opener waits (busy_timeout)
  // and then sees the finished schema instead of failing half-way.
  return run.immediate();
}

/**
 * The version a database is at (`applied`, ascending) and the one `migrations` bring it
 * to. Throws TypeError for a misordered list, ConfigError for a database a newer Bastion
 * wrote (a version above the latest, or one this code lacks): the same rule for SQLite and
 * PostgreSQL.
 */
export function pendingVersions(
  applied: readonly number[],
  migrations: readonly Migration[],
): { from: number; to: number } {
  checkOrder(migrations);
  const known = new Set(migrations.map((m) => m.version));
  const latest = migrations.at(-1)?.version ?? 0;
  const from = applied.at(-1) ?? 0;
  if (from > latest) {
    throw new ConfigError(
      WHERE,
      `the database schema is version ${from}, newer than the ${latest} this Bastion supports; upgrade Bastion`,
    );
  }
  if (applied.some((v) => !known.has(v))) {
    throw new ConfigError(WHERE, 'the database records a schema version this Bastion lacks');
  }
  return { from, to: latest };
}

function checkOrder(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const { version } of migrations) {
    if (!Number.isSafeInteger(version) || version <= previous) {
      throw new TypeError('migration versions must be increasing positive integers');
    }
    previous = version;
  }
}
