/**
 * An audit event and its row in the `audit` table, both ways: on the way in, a known type,
 * bounded non-empty text and nothing shaped or named like a credential, the detail stored
 * as canonical JSON; on the way out, NULL columns dropped, so a read entry re-hashes to
 * exactly what was hashed on append.
 */
import { InvalidArgumentError } from '../base/errors.js';
import { GENESIS, auditHash, canonicalJson } from '../base/audit-chain.js';
import { AUDIT_TYPES } from '../base/audit-records.js';
import type { AuditEntry, AuditEvent, AuditType } from '../base/audit-records.js';
import type { AuditCheckpoint, AuditFields, AuditRow } from './store.js';
import { AuditChainConflictError } from './errors.js';
import { hexHash, int, isoTs, text } from './checks.js';
import { isSecretShaped, looksSecret } from './secret-guard.js';

export type { AuditFields, AuditRow } from './store.js';

export const AUDIT_TYPE_SET: ReadonlySet<string> = new Set(AUDIT_TYPES);

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
// Bounds keep one entry (and so one sink line) small; audit is metadata, not payload.
const AUDIT_MAX_FIELD = 4096;
const AUDIT_MAX_DETAIL = 65_536;

/**
 * An event's columns, checked before the transaction: a known type, bounded non-empty
 * text, and nothing that looks like a credential — the same refusal as for AC claims, on
 * the detail's keys and values and on every text field.
 */
export function auditFields(event: AuditEvent, ts: string): AuditFields {
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
      isSecretShaped(value)
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
export function fromAuditRow(row: AuditRow): AuditEntry {
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

/**
 * Places validated events after `head`: consecutive seqs, each `prev` the hash of the entry
 * before it (GENESIS first), each `hash` over the rest. The one place a chain is extended,
 * for the store's own appends and for the audit log, which chains before it writes its sink.
 */
export function chainAfter(
  head: { readonly seq: number; readonly hash: string } | undefined,
  list: readonly AuditFields[],
): { rows: AuditRow[]; entries: AuditEntry[] } {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS;
  const rows: AuditRow[] = [];
  const entries: AuditEntry[] = [];
  for (const fields of list) {
    seq += 1;
    const row: AuditRow = { ...fields, seq, prev, hash: '' };
    const entry = fromAuditRow(row);
    row.hash = auditHash(entry);
    rows.push(row);
    entries.push({ ...entry, hash: row.hash });
    prev = row.hash;
  }
  return { rows, entries };
}

/**
 * Entries the caller chained, re-chained from their fields after `head` (read under the
 * write lock): their rows, or AuditChainConflictError unless that yields exactly their
 * seqs and hashes, so a stale head or a hash not covering its fields never lands.
 */
export function rechain(
  head: { readonly seq: number; readonly hash: string } | undefined,
  entries: readonly AuditEntry[],
): AuditRow[] {
  if (!(entries instanceof Array)) throw new InvalidArgumentError('audit entries');
  const { rows } = chainAfter(
    head,
    entries.map((entry) => auditFields(entry, entry.ts)),
  );
  rows.forEach((row, i) => {
    if (row.seq !== entries[i]?.seq || row.hash !== entries[i]?.hash) {
      throw new AuditChainConflictError();
    }
  });
  return rows;
}

/** A checkpoint's columns, checked. */
export function checkpointRow(checkpoint: AuditCheckpoint): AuditCheckpoint {
  return {
    seq: int(checkpoint.seq, 'audit checkpoint seq'),
    hash: hexHash(checkpoint.hash, 'audit checkpoint hash'),
    ts: isoTs(checkpoint.ts, 'audit checkpoint time'),
    jws: text(checkpoint.jws, 'audit checkpoint signature'),
  };
}
