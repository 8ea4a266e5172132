/**
 * Audit verification: walks the stored chain, checks the signed checkpoints with the
 * broker's public keys, and compares the database with the external sink — the copy a
 * database thief or a restored backup cannot rewrite. This file gathers the witnesses,
 * judges where the chain ends against them and assembles the report.
 */
import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, Store } from '../store/store.js';
import { walkChain } from './chain-walk.js';
import { checkpointWitnesses } from './checkpoint-check.js';
import { type AuditReport, type ReportProblem, collectProblems } from './report.js';
import { type SinkView, readSink } from './sink-reader.js';

export interface VerifyAuditOptions {
  readonly store: Store;
  /** The external sink (audit.jsonl) to compare with; omitted, only the database is checked. */
  readonly sinkFile?: string | undefined;
  /** Every key that may have signed a checkpoint, retired ones included. */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
}

export async function verifyAudit(options: VerifyAuditOptions): Promise<AuditReport> {
  const { store, publicKeys } = options;
  const { problems, problem } = collectProblems();

  const sink =
    options.sinkFile === undefined ? undefined : await readSink(options.sinkFile, problem);
  const dbCheckpoint = await store.latestCheckpoint();
  const witnesses = checkpointWitnesses(dbCheckpoint, sink, publicKeys, problem);
  const { dbCheckpointGood } = witnesses;
  const walk = await walkChain(store.iterateAudit(), witnesses.expected, sink?.entries, problem);
  const headSeq = walk.head?.seq ?? 0;

  if (dbCheckpoint !== undefined && dbCheckpointGood && dbCheckpoint.seq > headSeq) {
    problem(
      'truncated',
      headSeq + 1,
      `entries from ${headSeq + 1} on are missing: the database's checkpoint names seq ${dbCheckpoint.seq}`,
    );
  }
  if (sink !== undefined) {
    checkSinkEnd(sink, headSeq, dbCheckpoint, witnesses.sinkLatestCheckpoint, problem);
  }
  problems.sort((a, b) => a.seq - b.seq);

  return {
    ok: problems.length === 0,
    entries: walk.entries,
    head: walk.head,
    lastCheckpoint:
      dbCheckpoint !== undefined && dbCheckpointGood
        ? { seq: dbCheckpoint.seq, ts: dbCheckpoint.ts }
        : undefined,
    problems,
    interrupted: walk.interrupted,
  };
}

/** Where the database ends, against the sink: entries or a checkpoint past it, or a fork. */
function checkSinkEnd(
  sink: SinkView,
  headSeq: number,
  dbCheckpoint: AuditCheckpoint | undefined,
  sinkLatestCheckpoint: number,
  problem: ReportProblem,
): void {
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
