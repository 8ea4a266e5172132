/**
 * The witness as a check on the whole trail: checkpoints the broker also appended to a file
 * on another disk or host, which a restored copy of the data directory (database and sink
 * together) does not take back. Each must verify with the broker's keys and agree with the
 * chain; the witness only grows, so a checkpoint written after a later one, or two that
 * name different entries for one seq, mean the broker ran on a trail restored from an
 * older copy. One past the database's head is judged once the chain is walked (verify.ts).
 */
import type { KeyObject } from 'node:crypto';
import { type Vouch, verifiedCheckpoints } from './checkpoint-check.js';
import type { ReportProblem } from './report.js';
import type { SinkView } from './sink-reader.js';

/**
 * Checks the witness's checkpoints against each other and against those of the database
 * and the sink (`expected`), to which it adds the seqs only the witness vouches for, so
 * that the walk compares the chain with them. Returns the highest seq of a witness
 * checkpoint that verifies (0 when none does).
 */
export function checkWitness(
  witness: SinkView,
  expected: Map<number, Vouch>,
  publicKeys: ReadonlyMap<string, KeyObject>,
  problem: ReportProblem,
): number {
  let latest = 0;
  for (const cp of verifiedCheckpoints(witness, 'witness', publicKeys, problem)) {
    // Two different checkpoints of one seq are caught below: the first is in `expected`.
    if (cp.seq < latest) {
      problem(
        'rolled_back',
        cp.seq,
        `the witness holds a checkpoint of seq ${cp.seq} written after one of seq ${latest}: the broker ran on a trail restored from an older copy`,
      );
    }
    latest = Math.max(latest, cp.seq);
    const vouched = expected.get(cp.seq);
    if (vouched === undefined) {
      expected.set(cp.seq, { hash: cp.hash, where: 'witness' });
    } else if (vouched.hash !== cp.hash) {
      problem(
        'rolled_back',
        cp.seq,
        `the witness's checkpoint of seq ${cp.seq} and the ${vouched.where}'s name different entries: the trail was restored from an older copy and written again`,
      );
    }
  }
  return latest;
}
