/**
 * What `verifyAudit` reports: the problems it found, one kind per kind of tampering, and
 * the invocations that never ended normally. Messages are fixed text plus seq numbers and
 * never quote an entry.
 */

export type AuditProblemKind =
  | 'edited'
  | 'deleted'
  | 'reordered'
  | 'truncated'
  | 'rolled_back'
  | 'bad_checkpoint'
  | 'sink_mismatch'
  | 'sink_missing'
  | 'sink_truncated'
  | 'witness_missing'
  | 'witness_mismatch';

export interface AuditProblem {
  readonly kind: AuditProblemKind;
  /** The entry concerned (0 for a file, or a line of one, that names none). */
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
  /** The sink compared with the database; null when the caller said there is none (not checked). */
  readonly sink: string | null;
  /** The witness cross-checked; null when none was given. */
  readonly witness: string | null;
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

/** Records a problem; the checks of every witness report through one of these. */
export type ReportProblem = (kind: AuditProblemKind, seq: number, message: string) => void;

/**
 * A problem list and the function that adds to it: one problem per kind and seq, since two
 * witnesses of the same fact make one line (the first one found keeps its message).
 */
export function collectProblems(): { problems: AuditProblem[]; problem: ReportProblem } {
  const problems: AuditProblem[] = [];
  const reported = new Set<string>();
  const problem: ReportProblem = (kind, seq, message) => {
    const key = `${kind}:${seq}`;
    if (reported.has(key)) return;
    reported.add(key);
    problems.push({ kind, seq, message });
  };
  return { problems, problem };
}
