/**
 * Signed checkpoints as witnesses of the chain: a checkpoint's signature is checked with
 * node:crypto directly (EdDSA only, key by kid from a Map), as AC verification does, so no
 * algorithm or key choice is left to the token; those that verify say which hash the entry
 * at their seq must have.
 */
import type { KeyObject } from 'node:crypto';
import { compactJwsSegments, ed25519SignatureValid } from '../base/compact-jws.js';
import type { AuditCheckpoint } from '../store/store.js';
import { CHECKPOINT_TYP } from './checkpoint-sign.js';
import type { ReportProblem } from './report.js';
import type { AuditFileRole, SinkView } from './sink-reader.js';

const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_JWS_LENGTH = 4096;

/** The hash a signed checkpoint vouches for, and where that checkpoint was kept. */
export interface Vouch {
  readonly hash: string;
  readonly where: string;
}

export interface CheckpointWitnesses {
  /** Checkpoints that verify, by seq, each with the hash the DB entry at that seq must have. */
  readonly expected: Map<number, Vouch>;
  /** Whether the database's latest checkpoint verifies (false when there is none). */
  readonly dbCheckpointGood: boolean;
  /** The highest seq of a sink checkpoint that verifies; 0 when none does. */
  readonly sinkLatestCheckpoint: number;
}

/**
 * Checks the database's latest checkpoint and every checkpoint on the sink, reporting each
 * that does not verify. A sink checkpoint of an abandoned fork vouches for nothing.
 */
export function checkpointWitnesses(
  dbCheckpoint: AuditCheckpoint | undefined,
  sink: SinkView | undefined,
  publicKeys: ReadonlyMap<string, KeyObject>,
  problem: ReportProblem,
): CheckpointWitnesses {
  const expected = new Map<number, Vouch>();
  let dbCheckpointGood = false;
  if (dbCheckpoint !== undefined) {
    dbCheckpointGood = checkpointValid(dbCheckpoint, publicKeys);
    if (dbCheckpointGood) {
      expected.set(dbCheckpoint.seq, { hash: dbCheckpoint.hash, where: 'database' });
    } else {
      problem(
        'bad_checkpoint',
        dbCheckpoint.seq,
        `the database's latest checkpoint (seq ${dbCheckpoint.seq}) does not verify with any broker key`,
      );
    }
  }
  let sinkLatestCheckpoint = 0;
  for (const cp of verifiedCheckpoints(sink, 'sink', publicKeys, problem)) {
    sinkLatestCheckpoint = Math.max(sinkLatestCheckpoint, cp.seq);
    // A checkpoint of an abandoned fork (its seq was written again after a rollback, which
    // is reported on its own) vouches for nothing in the current chain.
    const sinkHash = sink?.entries.get(cp.seq);
    if (sinkHash !== undefined && sinkHash !== cp.hash) continue;
    if (!expected.has(cp.seq)) expected.set(cp.seq, { hash: cp.hash, where: 'sink' });
  }
  return { expected, dbCheckpointGood, sinkLatestCheckpoint };
}

/** The checkpoints of a file that verify, in file order; each one that does not is reported. */
export function verifiedCheckpoints(
  file: SinkView | undefined,
  role: AuditFileRole,
  publicKeys: ReadonlyMap<string, KeyObject>,
  problem: ReportProblem,
): AuditCheckpoint[] {
  return (file?.checkpoints ?? []).filter((cp) => {
    const valid = checkpointValid(cp, publicKeys);
    if (!valid) {
      problem(
        'bad_checkpoint',
        cp.seq,
        `a checkpoint on the ${role} (seq ${cp.seq}) does not verify with any broker key`,
      );
    }
    return valid;
  });
}

/**
 * True when `cp.jws` is an EdDSA compact JWS of type audit-checkpoint+jwt, signed by the
 * key its kid names, whose payload is exactly this checkpoint's `{seq, hash, ts}`.
 */
export function checkpointValid(
  cp: AuditCheckpoint,
  publicKeys: ReadonlyMap<string, KeyObject>,
): boolean {
  if (typeof cp.jws !== 'string') return false;
  const parts = compactJwsSegments(cp.jws, MAX_JWS_LENGTH);
  if (parts === undefined) return false;
  const [headerB64, payloadB64, signatureB64] = parts;
  const header = decodeSegment(headerB64);
  if (
    header === undefined ||
    header['typ'] !== CHECKPOINT_TYP ||
    header['alg'] !== 'EdDSA' ||
    header['crit'] !== undefined
  ) {
    return false;
  }
  const kid = header['kid'];
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) return false;
  const key = publicKeys.get(kid);
  if (key === undefined || key.asymmetricKeyType !== 'ed25519') return false;
  if (!ed25519SignatureValid(headerB64, payloadB64, signatureB64, key)) return false;
  const payload = decodeSegment(payloadB64);
  return (
    payload !== undefined &&
    payload['seq'] === cp.seq &&
    payload['hash'] === cp.hash &&
    payload['ts'] === cp.ts
  );
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
