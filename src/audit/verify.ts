/**
 * Audit verification: walks the stored chain, checks the signed checkpoints with the
 * broker's public keys, and compares the database with the external sink — the copy a
 * database thief or a restored backup cannot rewrite. Each kind of tampering maps to one
 * problem kind; messages are fixed text plus seq numbers and never quote an entry.
 *
 * Signatures are checked with node:crypto directly (EdDSA only, key by kid from a Map), as
 * AC verification does, so no algorithm or key choice is left to the token.
 */
import { type KeyObject, verify } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ConfigError } from '../base/errors.js';
import type { AuditCheckpoint, Store } from '../store/store.js';
import { GENESIS, auditHash } from '../base/audit-chain.js';
import { CHECKPOINT_TYP } from './log.js';
import type { AuditEntry } from '../base/audit-records.js';

export type AuditProblemKind =
  | 'edited'
  | 'deleted'
  | 'reordered'
  | 'truncated'
  | 'rolled_back'
  | 'bad_checkpoint'
  | 'sink_mismatch';

export interface AuditProblem {
  readonly kind: AuditProblemKind;
  /** The entry concerned (0 for a sink line that names none). */
  readonly seq: number;
  readonly message: string;
}

export interface InterruptedInvocation {
  /** The invoke_start entry's seq. */
  readonly seq: number;
  readonly invocation_id: string;
  readonly ac_id?: string | undefined;
}

export interface AuditReport {
  readonly ok: boolean;
  /** Entries in the database. */
  readonly entries: number;
  readonly head?: { readonly seq: number; readonly hash: string } | undefined;
  /** The database's latest checkpoint, when its signature is good. */
  readonly lastCheckpoint?: { readonly seq: number; readonly ts: string } | undefined;
  /** By seq. */
  readonly problems: AuditProblem[];
  /**
   * Invocations that never ended normally: recorded as invoke_interrupted (the broker
   * found them at start-up), or with no end at all (still running, or the broker has not
   * restarted since it stopped).
   */
  readonly interrupted: InterruptedInvocation[];
}

export interface VerifyAuditOptions {
  readonly store: Store;
  /** The external sink (audit.jsonl) to compare with; omitted, only the database is checked. */
  readonly sinkFile?: string | undefined;
  /** Every key that may have signed a checkpoint, retired ones included. */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
}

const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const HEX_HASH = /^[0-9a-f]{64}$/;
const MAX_JWS_LENGTH = 4096;

/** What the sink says, reduced to what verification compares. */
interface SinkView {
  /** seq → hash of the last entry line with that seq. */
  readonly entries: Map<number, string>;
  readonly checkpoints: AuditCheckpoint[];
  maxEntrySeq: number;
  /** The first seq for which the sink holds two different entries: a fork. */
  forkSeq: number | undefined;
}

export async function verifyAudit(options: VerifyAuditOptions): Promise<AuditReport> {
  const { store, publicKeys } = options;
  const problems: AuditProblem[] = [];
  const reported = new Set<string>();
  // One problem per kind and seq: two witnesses of the same fact make one line.
  const problem = (kind: AuditProblemKind, seq: number, message: string): void => {
    const key = `${kind}:${seq}`;
    if (reported.has(key)) return;
    reported.add(key);
    problems.push({ kind, seq, message });
  };

  const sink =
    options.sinkFile === undefined ? undefined : await readSink(options.sinkFile, problem);
  const dbCheckpoint = await store.latestCheckpoint();

  // Checkpoints that verify, by seq, each with the hash the DB entry at that seq must have.
  const expected = new Map<number, { hash: string; where: string }>();
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
  for (const cp of sink?.checkpoints ?? []) {
    if (!checkpointValid(cp, publicKeys)) {
      problem(
        'bad_checkpoint',
        cp.seq,
        `a checkpoint on the sink (seq ${cp.seq}) does not verify with any broker key`,
      );
      continue;
    }
    sinkLatestCheckpoint = Math.max(sinkLatestCheckpoint, cp.seq);
    // A checkpoint of an abandoned fork (its seq was written again after a rollback, which
    // is reported on its own) vouches for nothing in the current chain.
    const sinkHash = sink?.entries.get(cp.seq);
    if (sinkHash !== undefined && sinkHash !== cp.hash) continue;
    if (!expected.has(cp.seq)) expected.set(cp.seq, { hash: cp.hash, where: 'sink' });
  }

  // Walk the chain.
  let entries = 0;
  let next = 1;
  let prevHash = GENESIS;
  let linked = true; // false right after a gap: the missing entry's hash is unknown
  let head: { seq: number; hash: string } | undefined;
  const open = new Map<string, InterruptedInvocation>();
  const interrupted: InterruptedInvocation[] = [];
  for await (const entry of store.iterateAudit()) {
    entries += 1;
    const { seq } = entry;
    if (seq !== next) {
      problem(
        'deleted',
        next,
        seq - 1 === next ? `entry ${next} is missing` : `entries ${next} to ${seq - 1} are missing`,
      );
      linked = false;
    }
    let flagged = false;
    const intact = auditHash(entry) === entry.hash;
    if (!intact) {
      flagged = true;
      const from = movedFrom(entry);
      if (from !== undefined) {
        problem('reordered', seq, `entry ${seq} holds the entry of seq ${from} (entries moved)`);
      } else {
        problem('edited', seq, `entry ${seq} does not match its hash`);
      }
    } else if (linked && entry.prev !== prevHash) {
      flagged = true;
      problem(
        'reordered',
        seq,
        `entry ${seq} does not link to entry ${seq - 1} (entries moved, or entry ${seq - 1} edited and re-hashed)`,
      );
    }
    // Checkpoints and the sink are reported when they are the only witness, not again for
    // an entry the chain itself already shows to be wrong.
    const vouched = expected.get(seq);
    if (!flagged && vouched !== undefined && vouched.hash !== entry.hash) {
      problem(
        'edited',
        seq,
        `entry ${seq} differs from the signed checkpoint of seq ${seq} (${vouched.where}): the chain up to it was rebuilt`,
      );
    }
    const sinkHash = sink?.entries.get(seq);
    if (!flagged && sinkHash !== undefined && sinkHash !== entry.hash) {
      problem('sink_mismatch', seq, `entry ${seq} differs from the external sink`);
    }
    trackInvocation(entry, open, interrupted);
    prevHash = entry.hash;
    // A hash that does not match its entry anchors nothing: the next link is not judged by it.
    linked = intact;
    next = seq + 1;
    head = { seq, hash: entry.hash };
  }
  const headSeq = head?.seq ?? 0;

  if (dbCheckpoint !== undefined && dbCheckpointGood && dbCheckpoint.seq > headSeq) {
    problem(
      'truncated',
      headSeq + 1,
      `entries from ${headSeq + 1} on are missing: the database's checkpoint names seq ${dbCheckpoint.seq}`,
    );
  }
  if (sink !== undefined) {
    const sinkLast = Math.max(sink.maxEntrySeq, sinkLatestCheckpoint);
    if (sinkLast > headSeq) {
      // The sink is written after the store, so it is never legitimately ahead. If the
      // database has not even seen the sink's latest checkpoint, it is an older copy.
      if ((dbCheckpoint?.seq ?? 0) < sinkLatestCheckpoint) {
        problem(
          'rolled_back',
          headSeq + 1,
          `the database ends at seq ${headSeq} but the sink has a checkpoint of seq ${sinkLatestCheckpoint}: it was restored from an older copy`,
        );
      } else {
        problem(
          'truncated',
          headSeq + 1,
          `entries from ${headSeq + 1} to ${sinkLast} are on the sink but not in the database`,
        );
      }
    }
    if (sink.forkSeq !== undefined) {
      problem(
        'rolled_back',
        sink.forkSeq,
        `the sink holds two different entries of seq ${sink.forkSeq}: the database was restored from an older copy and written again`,
      );
    }
  }
  for (const invocation of open.values()) interrupted.push(invocation);
  interrupted.sort((a, b) => a.seq - b.seq);
  problems.sort((a, b) => a.seq - b.seq);

  return {
    ok: problems.length === 0,
    entries,
    head,
    lastCheckpoint:
      dbCheckpoint !== undefined && dbCheckpointGood
        ? { seq: dbCheckpoint.seq, ts: dbCheckpoint.ts }
        : undefined,
    problems,
    interrupted,
  };
}

/** How far away a moved entry is looked for; a search only runs for a broken entry. */
const MOVE_WINDOW = 64;

/**
 * When an entry fails its hash only because it sits at the wrong seq (it is an intact
 * entry moved from elsewhere), the seq it came from; otherwise undefined.
 */
function movedFrom(entry: AuditEntry): number | undefined {
  const lowest = Math.max(1, entry.seq - MOVE_WINDOW);
  for (let seq = lowest; seq <= entry.seq + MOVE_WINDOW; seq++) {
    if (seq !== entry.seq && auditHash({ ...entry, seq }) === entry.hash) return seq;
  }
  return undefined;
}

function trackInvocation(
  entry: AuditEntry,
  open: Map<string, InterruptedInvocation>,
  interrupted: InterruptedInvocation[],
): void {
  const id = entry.invocation_id;
  if (id === undefined) return;
  if (entry.type === 'invoke_start') {
    open.set(id, {
      seq: entry.seq,
      invocation_id: id,
      ...(entry.ac_id !== undefined ? { ac_id: entry.ac_id } : {}),
    });
  } else if (entry.type === 'invoke_end') {
    open.delete(id);
  } else if (entry.type === 'invoke_interrupted') {
    const start = open.get(id);
    open.delete(id);
    if (start !== undefined) interrupted.push(start);
  }
}

/**
 * Reads the sink line by line. A last line without its newline is a write cut short by a
 * crash, and is skipped if it does not parse; any other line that is not an entry or a
 * checkpoint is a problem.
 */
async function readSink(
  file: string,
  problem: (kind: AuditProblemKind, seq: number, message: string) => void,
): Promise<SinkView> {
  let endsWithNewline: boolean;
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const last = Buffer.alloc(1);
      endsWithNewline =
        size === 0 || ((await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] === 10);
    } finally {
      await handle.close();
    }
  } catch {
    throw new ConfigError('audit', 'the audit sink file cannot be read');
  }

  const view: SinkView = {
    entries: new Map(),
    checkpoints: [],
    maxEntrySeq: 0,
    forkSeq: undefined,
  };
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  let bad: number | undefined; // the latest unparseable line, judged once we know if it was last
  const reportBad = (n: number): void =>
    problem('sink_mismatch', 0, `line ${n} of the sink is not an audit record`);
  for await (const line of lines) {
    lineNo += 1;
    if (bad !== undefined) {
      reportBad(bad);
      bad = undefined;
    }
    if (line.trim() === '') continue;
    const record = parseLine(line);
    if (record === undefined) {
      bad = lineNo;
    } else if ('checkpoint' in record) {
      view.checkpoints.push(record.checkpoint);
    } else {
      const known = view.entries.get(record.seq);
      if (known !== undefined && known !== record.hash && view.forkSeq === undefined) {
        view.forkSeq = record.seq;
      }
      view.entries.set(record.seq, record.hash);
      view.maxEntrySeq = Math.max(view.maxEntrySeq, record.seq);
    }
  }
  if (bad !== undefined && (bad !== lineNo || endsWithNewline)) reportBad(bad);
  return view;
}

type SinkRecord = { seq: number; hash: string } | { checkpoint: AuditCheckpoint };

function parseLine(line: string): SinkRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if ('checkpoint' in record) {
    const cp = record['checkpoint'] as Record<string, unknown> | null;
    if (typeof cp !== 'object' || cp === null) return undefined;
    const { seq, hash, ts, jws } = cp;
    if (!isSeq(seq) || !isHash(hash) || typeof ts !== 'string' || typeof jws !== 'string') {
      return undefined;
    }
    return { checkpoint: { seq, hash, ts, jws } };
  }
  const { seq, hash } = record;
  return isSeq(seq) && isHash(hash) ? { seq, hash } : undefined;
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isHash = (v: unknown): v is string => typeof v === 'string' && HEX_HASH.test(v);

/**
 * True when `cp.jws` is an EdDSA compact JWS of type audit-checkpoint+jwt, signed by the
 * key its kid names, whose payload is exactly this checkpoint's `{seq, hash, ts}`.
 */
export function checkpointValid(
  cp: AuditCheckpoint,
  publicKeys: ReadonlyMap<string, KeyObject>,
): boolean {
  if (typeof cp.jws !== 'string' || cp.jws.length > MAX_JWS_LENGTH) return false;
  const parts = COMPACT_JWS.exec(cp.jws);
  if (parts === null) return false;
  const [, headerB64 = '', payloadB64 = '', signatureB64 = ''] = parts;
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
  const signature = Buffer.from(signatureB64, 'base64url');
  const input = Buffer.from(`${headerB64}.${payloadB64}`, 'ascii');
  if (signature.byteLength !== 64 || !verify(null, input, key, signature)) return false;
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
