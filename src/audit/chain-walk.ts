/**
 * Walking the stored chain entry by entry: gaps, entries that fail their hash (edited, or
 * moved from another seq), broken links, and disagreement with the checkpoints and the
 * sink where they are the only witness; and the invocations that never ended normally.
 */
import { GENESIS, auditHash } from '../base/audit-chain.js';
import type { AuditEntry } from '../base/audit-records.js';
import type { Vouch } from './checkpoint-check.js';
import type { InterruptedInvocation, ReportProblem } from './report.js';

/** How far away a moved entry is looked for; a search only runs for a broken entry. */
const MOVE_WINDOW = 64;

export interface ChainWalk {
  /** Entries in the database. */
  readonly entries: number;
  readonly head: { seq: number; hash: string } | undefined;
  /** By seq. */
  readonly interrupted: InterruptedInvocation[];
  /** Runs `[from, to]` of database entries the sink has no line for (empty without a sink). */
  readonly notOnSink: [number, number][];
}

/**
 * Walks `trail` (the store's entries by seq), checking each entry against its hash, its
 * predecessor, the hash `expected` vouches for at its seq and the sink's hash of its seq.
 */
export async function walkChain(
  trail: AsyncIterable<AuditEntry>,
  expected: ReadonlyMap<number, Vouch>,
  sinkEntries: ReadonlyMap<number, string> | undefined,
  problem: ReportProblem,
): Promise<ChainWalk> {
  let entries = 0;
  let next = 1;
  let prevHash = GENESIS;
  let linked = true; // false right after a gap: the missing entry's hash is unknown
  let head: { seq: number; hash: string } | undefined;
  const open = new Map<string, InterruptedInvocation>();
  const interrupted: InterruptedInvocation[] = [];
  const notOnSink: [number, number][] = [];
  for await (const entry of trail) {
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
    const sinkHash = sinkEntries?.get(seq);
    if (!flagged && sinkHash !== undefined && sinkHash !== entry.hash) {
      problem('sink_mismatch', seq, `entry ${seq} differs from the external sink`);
    }
    if (sinkEntries !== undefined && sinkHash === undefined) {
      const run = notOnSink.at(-1);
      if (run !== undefined && run[1] === seq - 1) run[1] = seq;
      else notOnSink.push([seq, seq]);
    }
    trackInvocation(entry, open, interrupted);
    prevHash = entry.hash;
    // A hash that does not match its entry anchors nothing: the next link is not judged by it.
    linked = intact;
    next = seq + 1;
    head = { seq, hash: entry.hash };
  }
  for (const invocation of open.values()) interrupted.push(invocation);
  interrupted.sort((a, b) => a.seq - b.seq);
  return { entries, head, interrupted, notOnSink };
}

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
