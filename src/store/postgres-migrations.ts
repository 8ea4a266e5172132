/**
 * The PostgreSQL schema as an ordered list of migrations (the same tables and checks as
 * the SQLite schema in migrations.ts), and the code that applies them at open: in one
 * transaction holding an advisory lock, so two brokers starting at once migrate once — the
 * second waits, then finds the schema done. A database from a newer Bastion is refused.
 *
 * Every column holds metadata only: no token, private key or secret has a column. Integers
 * that hold epoch milliseconds are BIGINT; JSON is kept as the exact text written (TEXT,
 * checked to parse), so an audit detail re-hashes to what was hashed. Times and DIDs sort
 * by byte (COLLATE "C"), as in SQLite, whatever the cluster's locale.
 */
import type { PoolClient } from 'pg';
import { type Migration, pendingVersions } from './migrations.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE acs (
        ac_id              TEXT    NOT NULL PRIMARY KEY,
        principal_did      TEXT    NOT NULL,
        cnf_jkt            TEXT    NOT NULL,
        accord             TEXT    NOT NULL,
        connector          TEXT    NOT NULL,
        target             TEXT    NOT NULL,
        capabilities       TEXT    NOT NULL
          CHECK (jsonb_typeof(capabilities::jsonb) = 'array'),
        capability_mask    BIGINT  NOT NULL,
        duration_seconds   BIGINT  NOT NULL,
        justification      TEXT,
        act                TEXT    CHECK (act IS NULL OR jsonb_typeof(act::jsonb) = 'object'),
        approvals_required BIGINT  NOT NULL CHECK (approvals_required >= 0),
        requested_at       BIGINT  NOT NULL,
        state              TEXT    NOT NULL
          CHECK (state IN ('pending_approval', 'active', 'revoked')),
        claims             TEXT
          CHECK (claims IS NULL OR jsonb_typeof(claims::jsonb) = 'object'),
        expires_at         BIGINT,
        activated_at       BIGINT,
        revoked_at         BIGINT,
        revoked_by         TEXT,
        -- An active AC without an expiry would never expire.
        CHECK (state <> 'active' OR (claims IS NOT NULL AND expires_at IS NOT NULL))
      );

      CREATE TABLE approvals (
        ac_id        TEXT   NOT NULL REFERENCES acs (ac_id) ON DELETE CASCADE,
        approver_did TEXT   COLLATE "C" NOT NULL,
        approved_at  BIGINT NOT NULL,
        -- One approver never counts twice.
        PRIMARY KEY (ac_id, approver_did)
      );

      -- No foreign key: a revocation must outlive anything that might prune ACs.
      CREATE TABLE revocations (
        ac_id      TEXT   NOT NULL PRIMARY KEY,
        revoked_at BIGINT NOT NULL,
        revoked_by TEXT   NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX revocations_expires_at ON revocations (expires_at);

      CREATE TABLE proof_jtis (
        jkt        TEXT   NOT NULL,
        jti        TEXT   NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (jkt, jti)
      );
      CREATE INDEX proof_jtis_expires_at ON proof_jtis (expires_at);

      CREATE TABLE key_usage (
        kid      TEXT   NOT NULL PRIMARY KEY,
        last_exp BIGINT NOT NULL
      );

      -- The trail: seq is head + 1, taken under the audit lock (postgres-audit.ts), never
      -- a sequence, so a gap is evidence of a deletion.
      CREATE TABLE audit (
        seq           BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
        ts            TEXT   COLLATE "C" NOT NULL,
        type          TEXT   NOT NULL,
        actor         TEXT,
        principal     TEXT,
        ac_id         TEXT,
        invocation_id TEXT,
        connector     TEXT,
        target        TEXT,
        outcome       TEXT,
        detail        TEXT   CHECK (detail IS NULL OR jsonb_typeof(detail::jsonb) = 'object'),
        prev          TEXT   NOT NULL CHECK (length(prev) = 64),
        hash          TEXT   NOT NULL CHECK (length(hash) = 64)
      );
      CREATE INDEX audit_type ON audit (type, seq);
      CREATE INDEX audit_ac_id ON audit (ac_id, seq) WHERE ac_id IS NOT NULL;
      CREATE INDEX audit_actor ON audit (actor, seq) WHERE actor IS NOT NULL;
      CREATE INDEX audit_principal ON audit (principal, seq) WHERE principal IS NOT NULL;
      CREATE INDEX audit_ts ON audit (ts);
      CREATE INDEX audit_invocation ON audit (invocation_id, type)
        WHERE invocation_id IS NOT NULL;

      CREATE TABLE audit_checkpoints (
        seq  BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
        hash TEXT   NOT NULL CHECK (length(hash) = 64),
        ts   TEXT   NOT NULL,
        jws  TEXT   NOT NULL
      );

      -- Bastion never updates or deletes the trail; a bug that tried fails here. (An owner
      -- of the database can drop these; the chain, checkpoints and sink catch that.)
      CREATE FUNCTION bastion_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'append-only table'; END $$;
      CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION bastion_append_only();
      CREATE TRIGGER audit_checkpoints_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION bastion_append_only();
    `,
  },
  {
    version: 2,
    // The shared signing keyring (each active private key wrapped under a KEK the database
    // never holds: signing-keys.ts says why that ciphertext may be stored), at most one
    // active key; and the shared rate-limit windows, deleted by cleanup once ended.
    sql: `
      CREATE TABLE signing_keys (
        kid        TEXT   NOT NULL PRIMARY KEY,
        x          TEXT   NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT,
        version    BIGINT NOT NULL,
        wrapped    TEXT,
        seal       TEXT   NOT NULL,
        -- The active key has its wrapped private key; a retired key never keeps it.
        CHECK ((retired_at IS NULL) = (wrapped IS NOT NULL))
      );
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL))
        WHERE retired_at IS NULL;

      CREATE TABLE rate_windows (
        key          TEXT   NOT NULL,
        window_start BIGINT NOT NULL,
        count        BIGINT NOT NULL,
        PRIMARY KEY (key, window_start)
      );
      CREATE INDEX rate_windows_start ON rate_windows (window_start);
    `,
  },
  {
    version: 3,
    sql: `
      -- One row per broker replica: its lease, renewed while it runs. A replica starting
      -- marks the unfinished invocations of replicas whose lease ran out (and its own).
      CREATE TABLE replicas (
        replica_id  TEXT   NOT NULL PRIMARY KEY,
        lease_until BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    // Decisions with a comment, as SQLite's version 5 (migrations.ts): an approval's
    // comment, and a denial kept beside a request still 'pending_approval'.
    sql: `
      ALTER TABLE approvals ADD COLUMN comment TEXT;
      ALTER TABLE acs ADD COLUMN denied_at BIGINT;
      ALTER TABLE acs ADD COLUMN denied_by TEXT;
      ALTER TABLE acs ADD COLUMN denial_comment TEXT;
    `,
  },
];

/** Advisory lock keys (any bigint, fixed): one for migrating, one for the audit head. */
export const MIGRATION_LOCK = 0x6261_7374_0001;
export const AUDIT_LOCK = 0x6261_7374_0002;

/**
 * Brings the database `client` is connected to up to the latest migration, in one
 * transaction under MIGRATION_LOCK; returns the versions before and after.
 */
export async function applyPgMigrations(
  client: PoolClient,
  migrations: readonly Migration[] = PG_MIGRATIONS,
): Promise<{ from: number; to: number }> {
  await client.query('BEGIN');
  try {
    // Taken before anything is read or created: a concurrent opener waits here.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    BIGINT NOT NULL PRIMARY KEY,
      applied_at BIGINT NOT NULL)`);
    const applied = (
      await client.query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      )
    ).rows.map((r) => r.version);
    const { from, to } = pendingVersions(applied, migrations);
    for (const migration of migrations) {
      if (applied.includes(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
        migration.version,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
    return { from, to };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
