/**
 * The audit trail as OCSF 1.1 events, the shape SIEMs ingest (README, "Sending the audit to
 * a SIEM"): each entry maps to one event of the class its kind belongs to, and carries the
 * entry itself under `unmapped.bastion.entry`, so a SIEM can re-verify the chain from the
 * events alone (hash = SHA-256 of the RFC 8785 JCS text of the entry without `hash`; each
 * entry's `prev` is the previous one's `hash`), and a checkpoint carries its signed JWS and
 * the key id to check it against the broker's JWKS. Pure functions: no I/O.
 */
import type { AuditEntry, AuditType } from '../../base/audit-records.js';
import type { AuditCheckpoint } from '../../store/store.js';

/** One record of the trail as exported or forwarded: an entry or a signed checkpoint. */
export type TrailRecord = { readonly entry: AuditEntry } | { readonly checkpoint: AuditCheckpoint };

export const OCSF_VERSION = '1.1.0';

/** OCSF classes used, with their category. */
const API_ACTIVITY = { class_uid: 6003, class_name: 'API Activity', category_uid: 6 } as const;
const AUTHENTICATION = { class_uid: 3002, class_name: 'Authentication', category_uid: 3 } as const;
const BASE_EVENT = { class_uid: 0, class_name: 'Base Event', category_uid: 0 } as const;

const CATEGORY_NAMES: Record<number, string> = {
  0: 'Uncategorized',
  3: 'Identity & Access Management',
  6: 'Application Activity',
};

type OcsfClass = typeof API_ACTIVITY | typeof AUTHENTICATION | typeof BASE_EVENT;

/** Entry type → OCSF class and activity (the README's table is this one). */
export const OCSF_MAPPING: Readonly<
  Record<
    AuditType,
    { readonly cls: OcsfClass; readonly activity_id: number; readonly activity_name: string }
  >
> = {
  authorize: { cls: AUTHENTICATION, activity_id: 3, activity_name: 'Authentication Ticket' },
  deny: { cls: AUTHENTICATION, activity_id: 3, activity_name: 'Authentication Ticket' },
  approve: { cls: AUTHENTICATION, activity_id: 99, activity_name: 'Approve' },
  revoke: { cls: AUTHENTICATION, activity_id: 99, activity_name: 'Revoke' },
  invoke_start: { cls: API_ACTIVITY, activity_id: 99, activity_name: 'Invoke' },
  invoke_end: { cls: API_ACTIVITY, activity_id: 99, activity_name: 'Invoke End' },
  invoke_interrupted: { cls: API_ACTIVITY, activity_id: 99, activity_name: 'Invoke Interrupted' },
  credential_issue: { cls: API_ACTIVITY, activity_id: 1, activity_name: 'Create' },
  credential_discard: { cls: API_ACTIVITY, activity_id: 4, activity_name: 'Delete' },
};

const PRODUCT = { name: 'Bastion', vendor_name: 'Bastion' } as const;

/** Outcomes that say the step succeeded: an invocation's, an issued or pending AC's. */
const SUCCESS_OUTCOMES: ReadonlySet<string> = new Set(['ok', 'active', 'pending_approval']);

/** A refusal (`deny`), or an outcome that is an error code (`timed_out` included). */
export function entryFailed(entry: AuditEntry): boolean {
  return (
    entry.type === 'deny' || (entry.outcome !== undefined && !SUCCESS_OUTCOMES.has(entry.outcome))
  );
}

/** Success, Failure (with the outcome as status_code) or, with no outcome, Unknown. */
function status(entry: AuditEntry): Record<string, unknown> {
  if (entryFailed(entry)) return { status_id: 2, status: 'Failure', status_code: entry.outcome };
  if (entry.outcome === undefined) return { status_id: 0, status: 'Unknown' };
  return { status_id: 1, status: 'Success', status_code: entry.outcome };
}

function header(cls: OcsfClass, activityId: number, activityName: string, ts: string) {
  return {
    class_uid: cls.class_uid,
    class_name: cls.class_name,
    category_uid: cls.category_uid,
    category_name: CATEGORY_NAMES[cls.category_uid],
    activity_id: activityId,
    activity_name: activityName,
    type_uid: cls.class_uid * 100 + activityId,
    time: Date.parse(ts),
  };
}

const user = (did: string | undefined): Record<string, unknown> | undefined =>
  did === undefined ? undefined : { uid: did, type_id: 99, type: 'did:key' };

/** The OCSF event of an audit entry; `unmapped.bastion` carries the entry as hashed. */
export function entryToOcsf(entry: AuditEntry): Record<string, unknown> {
  const map = OCSF_MAPPING[entry.type];
  const st = status(entry);
  const failed = st['status_id'] === 2;
  const actor = { user: user(entry.actor) };
  const target =
    entry.target === undefined ? undefined : { hostname: entry.target, svc_name: entry.connector };
  const ac =
    entry.ac_id === undefined ? undefined : [{ uid: entry.ac_id, type: 'authorization_context' }];
  const common = {
    ...header(map.cls, map.activity_id, map.activity_name, entry.ts),
    severity_id: failed ? 3 : 1,
    severity: failed ? 'Medium' : 'Informational',
    ...st,
    message: entry.type,
    metadata: {
      version: OCSF_VERSION,
      product: PRODUCT,
      uid: String(entry.seq),
      sequence: entry.seq,
      log_name: 'audit',
      correlation_uid: entry.invocation_id,
    },
    actor,
    dst_endpoint: target,
    unmapped: { bastion: { seq: entry.seq, prev: entry.prev, hash: entry.hash, entry } },
  };
  if (map.cls === AUTHENTICATION) {
    return {
      ...common,
      user: user(entry.principal ?? entry.actor),
      auth_protocol_id: 99,
      auth_protocol: 'DPoP-bound AC (EdDSA JWT)',
      service: { name: 'bastion', uid: entry.ac_id },
      resources: ac,
    };
  }
  return {
    ...common,
    api: { operation: entry.type, service: { name: entry.connector ?? 'bastion' } },
    src_endpoint: { svc_name: 'bastion' },
    resources: ac,
  };
}

/** The kid of a checkpoint's JWS header, or undefined when it cannot be read. */
export function checkpointKid(jws: string): string | undefined {
  try {
    const head: unknown = JSON.parse(
      Buffer.from(jws.split('.', 1)[0] ?? '', 'base64url').toString('utf8'),
    );
    const kid = (head as { kid?: unknown } | null)?.kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** A signed checkpoint as an OCSF Base Event: the JWS and its kid, to check with the JWKS. */
export function checkpointToOcsf(checkpoint: AuditCheckpoint): Record<string, unknown> {
  const kid = checkpointKid(checkpoint.jws);
  return {
    ...header(BASE_EVENT, 99, 'Audit Checkpoint', checkpoint.ts),
    severity_id: 1,
    severity: 'Informational',
    status_id: 1,
    status: 'Success',
    message: 'audit checkpoint',
    metadata: { version: OCSF_VERSION, product: PRODUCT, log_name: 'audit' },
    unmapped: {
      bastion: { seq: checkpoint.seq, hash: checkpoint.hash, kid, checkpoint },
    },
  };
}

export function recordToOcsf(record: TrailRecord): Record<string, unknown> {
  return 'entry' in record ? entryToOcsf(record.entry) : checkpointToOcsf(record.checkpoint);
}

/** A record's seq (a checkpoint's is the seq of the entry it signs). */
export function recordSeq(record: TrailRecord): number {
  return 'entry' in record ? record.entry.seq : record.checkpoint.seq;
}
