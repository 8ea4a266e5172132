/**
 * The sink against the database's extent, both ways: a sink that ends before the
 * database's head or lacks entries it has (cut, or lines removed), and one that goes past
 * the head or forks (the database truncated, or restored from an older copy). A missing
 * sink file is reported where it is read (verify.ts).
 */
import type { AuditCheckpoint } from '../store/store.js';
import type { ChainWalk } from './chain-walk.js';
import type { ReportProblem } from './report.js';
import type { SinkView } from './sink-reader.js';

export function checkSinkExtent(
  sink: SinkView,
  walk: ChainWalk,
  dbCheckpoint: AuditCheckpoint | undefined,
  sinkLatestCheckpoint: number,
  problem: ReportProblem,
): void {
  const headSeq = walk.head?.seq ?? 0;
  for (const [from, to] of walk.notOnSink) {
    const entries = from === to ? `entry ${from} is` : `entries ${from} to ${to} are`;
    if (to === headSeq && sink.maxEntrySeq < from) {
      problem(
        'sink_truncated',
        from,
        `${entries} in the database but not on the sink: its end was cut (or the broker stopped before writing them)`,
      );
    } else {
      problem('sink_mismatch', from, `${entries} in the database but not on the sink`);
    }
  }
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
