/**
 * Audit verification: walks the stored chain, checks the signed checkpoints with the
 * broker's public keys, and compares the database with the external sink — the copy a
 * database thief cannot rewrite — and, when one is kept, the witness — the checkpoints a
 * restored backup of the whole data directory does not take back. This file gathers the
 * witnesses, judges where the chain ends against them and assembles the report.
 */
import type { KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../base/errors.js';
import type { Store } from '../store/store.js';
import { walkChain } from './chain-walk.js';
import { checkpointWitnesses } from './checkpoint-check.js';
import { type AuditReport, collectProblems } from './report.js';
import { checkSinkExtent } from './sink-check.js';
import { readAuditFile } from './sink-reader.js';
import { checkWitness } from './witness-check.js';

export interface VerifyAuditOptions {
  readonly store: Store;
  /**
   * The external sink (audit.jsonl) to compare with: a file that is missing is a problem.
   * null says there is none (a stdout sink nobody collected): only then is the sink not
   * checked, and entries cut from the database's end after its last checkpoint go unseen.
   */
  readonly sinkFile: string | null;
  /**
   * Earlier parts of the sink that log rotation renamed away (audit.jsonl.1, …), read as
   * one with `sinkFile`, in any order: together they must hold every entry.
   */
  readonly rotatedSinkFiles?: readonly string[] | undefined;
  /** The witness file (`audit.witness_file`) to cross-check; a file that is missing is a problem. */
  readonly witnessFile?: string | undefined;
  /** Every key that may have signed a checkpoint, retired ones included. */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
}

export async function verifyAudit(options: VerifyAuditOptions): Promise<AuditReport> {
  const { store, publicKeys, sinkFile, witnessFile } = options;
  // Leaving the sink out must be said, never implied by a forgotten option.
  if (sinkFile === undefined) throw new InvalidArgumentError('sinkFile (a path, or null)');
  const { problems, problem } = collectProblems();

  const sink = sinkFile === null ? undefined : await readAuditFile(sinkFile, 'sink', problem);
  for (const rotated of sink === undefined ? [] : (options.rotatedSinkFiles ?? [])) {
    if ((await readAuditFile(rotated, 'sink', problem, sink)) === undefined) {
      problem('sink_missing', 0, 'a rotated sink file does not exist');
    }
  }
  if (sinkFile !== null && sink === undefined) {
    problem('sink_missing', 0, 'the sink file does not exist: the database cannot be compared');
  }
  const witness =
    witnessFile === undefined ? undefined : await readAuditFile(witnessFile, 'witness', problem);
  if (witnessFile !== undefined && witness === undefined) {
    problem('witness_missing', 0, 'the witness file does not exist: no rollback can be seen');
  }
  const dbCheckpoint = await store.latestCheckpoint();
  const witnesses = checkpointWitnesses(dbCheckpoint, sink, publicKeys, problem);
  const { dbCheckpointGood, expected } = witnesses;
  const witnessLatest =
    witness === undefined ? 0 : checkWitness(witness, expected, publicKeys, problem);
  const walk = await walkChain(store.iterateAudit(), expected, sink?.entries, problem);
  const headSeq = walk.head?.seq ?? 0;

  if (dbCheckpoint !== undefined && dbCheckpointGood && dbCheckpoint.seq > headSeq) {
    problem(
      'truncated',
      headSeq + 1,
      `entries from ${headSeq + 1} on are missing: the database's checkpoint names seq ${dbCheckpoint.seq}`,
    );
  }
  if (sink !== undefined) {
    checkSinkExtent(sink, walk, dbCheckpoint, witnesses.sinkLatestCheckpoint, problem);
  }
  if (witnessLatest > headSeq) {
    problem(
      'rolled_back',
      headSeq + 1,
      `the database ends at seq ${headSeq} but the witness has a checkpoint of seq ${witnessLatest}: the trail was restored from an older copy`,
    );
  }
  problems.sort((a, b) => a.seq - b.seq);

  return {
    ok: problems.length === 0,
    entries: walk.entries,
    head: walk.head,
    sink: sinkFile,
    witness: witnessFile ?? null,
    lastCheckpoint:
      dbCheckpoint !== undefined && dbCheckpointGood
        ? { seq: dbCheckpoint.seq, ts: dbCheckpoint.ts }
        : undefined,
    problems,
    interrupted: walk.interrupted,
  };
}
