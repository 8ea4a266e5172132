/**
 * Opening the audit trail's files, and their repair at start after a crash. The log writes
 * the sink first and the database second, so a crash leaves at most a torn last line (never acknowledged: cut
 * off) and entries on the sink the database lacks (put back into the database, where the
 * store re-chains and re-hashes them from their fields before accepting them). Nothing is
 * ever copied the other way: the sink is the copy a database thief cannot rewrite. A sink
 * (or, with none to read, a witness) holding a checkpoint past the database's head means a
 * restore, not a crash: it is logged, and `bastion audit verify` reports it.
 */
import { join } from 'node:path';
import { ConfigError, InvalidArgumentError } from '../base/errors.js';
import { AuditChainConflictError } from '../store/errors.js';
import type { Logger } from '../base/logger.js';
import type { Store } from '../store/store.js';
import { readSinkTail, trimTornLine } from './sink-repair.js';
import { AUDIT_SINK_FILE, type Sink, openSink, openWitness } from './sink.js';
import { lockTrail } from './trail-lock.js';

const WHERE = 'audit';

/**
 * Opens the sink (and the witness), repairs what a crash left, and returns them with the
 * chain head the log continues from; closes what it opened when any step fails.
 */
export async function openTrail(
  kind: 'file' | 'stdout',
  options: {
    readonly store: Store;
    readonly dataDir: string;
    readonly witnessFile?: string | undefined;
    readonly logger: Logger;
  },
): Promise<{ sink: Sink; witness: Sink | undefined; head: ChainHead | undefined }> {
  const release = lockTrail(options.dataDir);
  // A shared store chains entries itself: this broker holds no head and keeps no sink
  // (the database is the chain's one copy; checkpoints still go to the witness).
  const shared = options.store.appendAuditChained !== undefined;
  let sink: Sink;
  try {
    sink = withRelease(shared ? NO_SINK : await openSink(kind, options.dataDir), release);
  } catch (err) {
    release();
    throw err;
  }
  let witness: Sink | undefined;
  try {
    if (options.witnessFile !== undefined) {
      witness = await openWitness(options.witnessFile, options.dataDir);
    }
    const head = await recoverTrail({
      store: options.store,
      sinkFile: kind === 'file' && !shared ? join(options.dataDir, AUDIT_SINK_FILE) : undefined,
      witnessFile: options.witnessFile,
      logger: options.logger,
    });
    return { sink, witness, head };
  } catch (err) {
    await sink.close();
    await witness?.close();
    throw err;
  }
}

type ChainHead = { seq: number; hash: string };

const NO_SINK: Sink = { write: () => Promise.resolve(), close: () => Promise.resolve() };

/** `sink`, whose close also releases the trail's lock (the log closes its sink last). */
function withRelease(sink: Sink, release: () => void): Sink {
  const reopen = sink.reopen?.bind(sink);
  return {
    write: (line) => sink.write(line),
    // Read at each use: a reopened sink has a new descriptor.
    get fd() {
      return sink.fd;
    },
    ...(reopen !== undefined ? { reopen } : {}),
    close: () => sink.close().finally(release),
  };
}

export interface RecoverOptions {
  readonly store: Store;
  /** The sink file; undefined for stdout, which cannot be read back. */
  readonly sinkFile: string | undefined;
  readonly witnessFile: string | undefined;
  readonly logger: Logger;
}

/** Repairs what a crash left and returns the chain head the log continues from. */
export async function recoverTrail(options: RecoverOptions): Promise<ChainHead | undefined> {
  const { store, sinkFile, logger } = options;
  for (const [file, what] of [
    [sinkFile, 'sink'],
    [options.witnessFile, 'witness'],
  ] as const) {
    if (file === undefined) continue;
    let trimmed: boolean;
    try {
      trimmed = await trimTornLine(file);
    } catch {
      throw new ConfigError(WHERE, `the audit ${what} file cannot be repaired`);
    }
    if (trimmed) logger.warn({ file: what }, 'audit: a last line cut short by a crash was removed');
  }
  const head = await store.auditHead();
  if (sinkFile === undefined) {
    // No sink to compare with (a shared store, stdout): the witness tells a restored copy.
    await checkWitnessAhead(options.witnessFile, head?.seq ?? 0, logger);
    return head;
  }
  try {
    const { entries: tail, checkpointPast } = await readSinkTail(sinkFile, head?.seq ?? 0);
    if (checkpointPast) {
      // Not a crash: putting the entries back would hide the rollback (and could not
      // bring back the revocations it lost). Carry on as before; verify reports it.
      logger.error(
        { head_seq: head?.seq ?? 0 },
        'audit: the database is behind a checkpoint on the sink (restored from an older copy?): run `bastion audit verify`',
      );
      return head;
    }
    const last = tail.at(-1);
    if (last === undefined) return head;
    await store.insertAuditEntries(tail);
    logger.warn(
      { count: tail.length, from_seq: tail[0]?.seq, to_seq: last.seq },
      'audit: entries the sink held but the database lacked (a crash between the two writes) were put back',
    );
    return { seq: last.seq, hash: last.hash };
  } catch (err) {
    if (err instanceof AuditChainConflictError || err instanceof InvalidArgumentError) {
      throw new ConfigError(
        WHERE,
        'the audit sink does not continue the database trail: run `bastion audit verify`',
      );
    }
    throw err;
  }
}

/** Logs an error when the witness holds a checkpoint past the database's head. */
async function checkWitnessAhead(
  witnessFile: string | undefined,
  headSeq: number,
  logger: Logger,
): Promise<void> {
  if (witnessFile === undefined) return;
  let ahead: boolean;
  try {
    ahead = (await readSinkTail(witnessFile, headSeq, true)).checkpointPast;
  } catch {
    throw new ConfigError(WHERE, 'the audit witness file cannot be read');
  }
  // As with the sink: not a crash; carry on, and verify reports it.
  if (ahead) {
    logger.error(
      { head_seq: headSeq },
      'audit: the database is behind a checkpoint on the witness (restored from an older copy?): run `bastion audit verify`',
    );
  }
}
