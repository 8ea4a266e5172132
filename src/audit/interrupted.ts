/**
 * Interrupted invocations: an `invoke_start` with no end, because its broker stopped. With
 * replicas on a shared store, each `invoke_start` names the replica that runs it
 * (`detail.replica`), so a replica starting marks its own unfinished invocations and those
 * of replicas whose lease ran out, never those a live replica is still running; and every
 * live replica sweeps, now and then, the invocations of replicas whose lease ran out since.
 */
import type { AuditEntry, AuditEvent } from '../base/audit-records.js';

/** The `invoke_interrupted` entry that closes `start`. */
export function interruptedEvent(start: AuditEntry): AuditEvent {
  return {
    type: 'invoke_interrupted',
    invocation_id: start.invocation_id,
    ac_id: start.ac_id,
    actor: start.actor,
    principal: start.principal,
    connector: start.connector,
    target: start.target,
    outcome: 'interrupted',
    detail: { start_seq: start.seq },
  };
}

/** `event`, naming `replicaId` in its detail when it starts an invocation. */
export function stampReplica(event: AuditEvent, replicaId: string | undefined): AuditEvent {
  if (replicaId === undefined || event.type !== 'invoke_start') return event;
  return { ...event, detail: { ...event.detail, replica: replicaId } };
}

/**
 * Whether `self`, starting, may mark `start`: its own, one of a replica that is not live,
 * or one that names no replica (written before replicas, or by a single broker).
 */
export function mayMark(start: AuditEntry, self: string, live: ReadonlySet<string>): boolean {
  const owner = start.detail?.['replica'];
  return typeof owner !== 'string' || owner === self || !live.has(owner);
}

/**
 * Whether a sweep by `self` marks `start`: begun by one of `expired` (the replicas whose
 * lease this sweep deleted), and not by `self`, whose own lease can only have run out while
 * it could not reach the store: its invocations are its own to end.
 */
export function maySweep(start: AuditEntry, self: string, expired: ReadonlySet<string>): boolean {
  const owner = start.detail?.['replica'];
  return typeof owner === 'string' && owner !== self && expired.has(owner);
}
