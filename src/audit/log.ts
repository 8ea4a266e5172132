/**
 * The broker's audit log: every entry is hash-chained here, written as one JSON line to an
 * external sink — a 0600 file outside the database, or stdout for a log collector — and
 * then stored (docs/architecture.md, "Write path"). The sink is the copy a database thief
 * cannot rewrite; signed checkpoints of the chain head, kept in both places and, when
 * configured, in a witness file on another disk or host (the copy a restored backup of the
 * data directory does not take back), let `verifyAudit` tell an edited, truncated or
 * rolled-back trail from an intact one.
 *
 * Fail closed: when the audit cannot be written, `append` throws AuditUnavailableError and
 * the caller must not carry on with the operation it was recording.
 */
import type { Clock } from '../base/clock.js';
import { ConfigError, InvalidArgumentError } from '../base/errors.js';
import type { AcSigner } from '../base/signer.js';
import type { Logger } from '../base/logger.js';
import { noTelemetry, secondsSince, type Telemetry } from '../base/telemetry.js';
import type { AuditCheckpoint, Store, StoreEffect } from '../store/store.js';
import { canonicalJson } from '../base/audit-chain.js';
import type { AuditEntry, AuditEvent, AuditFilter } from '../base/audit-records.js';
import { AuditUnavailableError, errorCode } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { Sink } from './sink.js';
import { type AuditFields, auditFields } from '../store/audit-row.js';
import { TrailWriter } from './trail-writer.js';
import { openTrail } from './recover.js';
import { type CheckpointLine, signCheckpoint } from './checkpoint-sign.js';
import { interruptedEvent, mayMark, maySweep, stampReplica } from './interrupted.js';
import type { TrailRecord } from './siem/ocsf.js';

export { CHECKPOINT_TYP, type CheckpointLine } from './checkpoint-sign.js';

const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
const WHERE = 'audit';

export interface AuditLogOptions {
  readonly store: Store;
  /** The sink file is `<dataDir>/audit/audit.jsonl`. */
  readonly dataDir: string;
  /** Asked at each checkpoint, so a rotated key is used from the next one on. */
  readonly signer: () => AcSigner;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default 60 000. */
  readonly checkpointIntervalMs?: number | undefined;
  /** Default 'file'. */
  readonly sink?: 'file' | 'stdout' | undefined;
  /** Where every checkpoint is also appended; outside `dataDir`, in a directory that exists. */
  readonly witnessFile?: string | undefined;
  /** With a shared store: this replica's id, named by each `invoke_start` it writes. */
  readonly replicaId?: string | undefined;
  /** Records each group write's latency and size; none by default. */
  readonly telemetry?: Telemetry | undefined;
  /**
   * Told of every entry and checkpoint once durable, in chain order (the SIEM forwarders,
   * siem/forwarder.ts); must not throw or block: it queues and returns.
   */
  readonly onRecords?: ((records: readonly TrailRecord[]) => void) | undefined;
}

export class AuditLog {
  readonly #store: Store;
  readonly #sink: Sink;
  readonly #witness: Sink | undefined;
  readonly #signer: () => AcSigner;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  /** Appends in flight, so close() checkpoints after the last of them. */
  readonly #inflight = new Set<Promise<unknown>>();
  /** Queues appends that arrive during a write, for the next one. */
  readonly #commit = new GroupCommit((fields, effects) => this.#timedWrite(fields, effects));
  readonly #onRecords: ((records: readonly TrailRecord[]) => void) | undefined;
  /** Where each group goes: the sink, then the store. */
  readonly #writer: TrailWriter;
  /** Checkpoints run one at a time (timer, explicit call, close). */
  #checkpoints: Promise<void> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #replicaId: string | undefined;
  readonly #telemetry: Telemetry;

  private constructor(
    options: AuditLogOptions,
    sink: Sink,
    witness: Sink | undefined,
    intervalMs: number,
    head: { seq: number; hash: string } | undefined,
  ) {
    this.#store = options.store;
    this.#writer = new TrailWriter({
      store: options.store,
      sink,
      logger: options.logger,
      durableOnSink: (options.sink ?? 'file') === 'file',
      head,
    });
    this.#sink = sink;
    this.#witness = witness;
    this.#signer = options.signer;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#replicaId = options.replicaId;
    this.#telemetry = options.telemetry ?? noTelemetry;
    this.#onRecords = options.onRecords;
    this.#timer = setInterval(() => void this.#timedCheckpoint(), intervalMs);
    // The timer must not keep a finished process alive; close() takes the last checkpoint.
    this.#timer.unref();
  }

  /** One group write (sink, then store), timed for the metrics. */
  async #timedWrite(
    fields: readonly AuditFields[],
    effects: readonly StoreEffect[],
  ): Promise<AuditEntry[]> {
    const start = process.hrtime.bigint();
    const entries = await this.#writer.write(fields, effects);
    this.#telemetry.auditWrite(secondsSince(start), entries.length);
    this.#tell(entries.map((entry) => ({ entry })));
    return entries;
  }

  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const intervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
      throw new ConfigError(WHERE, 'checkpointIntervalMs must be a positive integer');
    }
    const kind = options.sink ?? 'file';
    if (kind !== 'file' && kind !== 'stdout') {
      throw new ConfigError(WHERE, "sink must be 'file' or 'stdout'");
    }
    const { sink, witness, head } = await openTrail(kind, options);
    return new AuditLog(options, sink, witness, intervalMs, head);
  }

  /**
   * Records `event`: placed in the chain, then one sink line and one store commit, shared
   * with the appends that arrived while the previous write was in progress (group commit).
   * `effects` are stored in that same commit. Resolves once the whole batch is durable in
   * both. Throws AuditUnavailableError when either fails or the log is closed, and
   * InvalidArgumentError (the store's) for an event the store refuses, such as a detail
   * holding a secret-named key. Either way the caller must fail closed.
   */
  append(event: AuditEvent, effects: readonly StoreEffect[] = []): Promise<AuditEntry> {
    return this.#track([event], effects).then(([entry]) => {
      if (entry === undefined) throw new AuditUnavailableError();
      return entry;
    });
  }

  /** Records several events in order, consecutive in one commit (a discard and its end). */
  appendBatch(events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    return this.#track(events, []);
  }

  /**
   * Checks the events (one the store would refuse fails its own caller only, before it
   * joins a batch), queues them unless closed, and keeps them in flight until settled.
   */
  #track(events: readonly AuditEvent[], effects: readonly StoreEffect[]): Promise<AuditEntry[]> {
    if (this.#closed) return Promise.reject(new AuditUnavailableError());
    let fields: AuditFields[];
    try {
      // Stamped on arrival: arrival order is chain order, so ts never runs backwards.
      const ts = new Date(this.#clock.now()).toISOString();
      fields = events.map((event) => auditFields(stampReplica(event, this.#replicaId), ts));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new AuditUnavailableError());
    }
    return this.#keep(this.#commit.submit(fields, effects));
  }

  /** `work`, kept in flight until it settles (close() waits for it). */
  #keep<T>(work: Promise<T>): Promise<T> {
    this.#inflight.add(work);
    void work.then(
      () => this.#inflight.delete(work),
      () => this.#inflight.delete(work),
    );
    return work;
  }

  /**
   * Signs the chain head `{seq, hash, ts}` with the broker key and keeps the checkpoint in
   * the store, on the sink and on the witness. Does nothing when no entry was added since
   * the last one.
   */
  checkpoint(): Promise<void> {
    const run = this.#checkpoints.then(() => this.#checkpointOnce());
    this.#checkpoints = run.catch(() => undefined);
    return run;
  }

  async #checkpointOnce(): Promise<void> {
    let head: { seq: number; hash: string } | undefined;
    let latest: AuditCheckpoint | undefined;
    try {
      [head, latest] = await Promise.all([this.#store.auditHead(), this.#store.latestCheckpoint()]);
    } catch (err) {
      throw this.#unavailable(err, 'audit checkpoint read failed');
    }
    if (head === undefined || (latest !== undefined && latest.seq >= head.seq)) return;
    const ts = new Date(this.#clock.now()).toISOString();
    let checkpoint: AuditCheckpoint;
    try {
      checkpoint = await signCheckpoint(head, ts, this.#signer());
      await this.#store.insertCheckpoint(checkpoint);
    } catch (err) {
      throw this.#unavailable(err, 'audit checkpoint write failed');
    }
    const line = canonicalJson({ checkpoint } satisfies CheckpointLine) + '\n';
    await this.#writer.line(line);
    this.#tell([{ checkpoint }]);
    try {
      await this.#witness?.write(line);
    } catch (err) {
      throw this.#unavailable(err, 'audit witness write failed');
    }
  }

  /**
   * Starts a fresh sink file at its path, between two writes (log rotation renamed the old
   * one away; SIGHUP). False when there is no sink file (stdout, or replicas on a shared
   * store). Throws when the new file cannot be opened; the old one then stays in use.
   */
  reopenSink(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#writer.reopen();
  }

  async #timedCheckpoint(): Promise<void> {
    try {
      await this.checkpoint();
    } catch {
      // Already logged by #unavailable; a timer has no caller to hand the error to.
    }
  }

  /** Entries matching the filter, by seq ascending (limit default 100, at most 1000). */
  async list(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    try {
      return await this.#store.listAudit(filter);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw this.#unavailable(err, 'audit read failed');
    }
  }

  /** invoke_start entries with no invoke_end or invoke_interrupted for their invocation. */
  async interrupted(): Promise<AuditEntry[]> {
    try {
      return await this.#store.unfinishedInvocations();
    } catch (err) {
      throw this.#unavailable(err, 'audit read failed');
    }
  }

  /**
   * Appends an `invoke_interrupted` entry (detail `{start_seq}`) for each unfinished
   * invocation and returns how many. Called at start-up, before any invocation begins, so
   * that every unfinished one was cut off by the previous process ending; with a shared
   * store, only this replica's and those of replicas whose lease ran out (interrupted.ts),
   * read and marked under the store's write lock. Logging the count is the caller's.
   */
  async markInterrupted(): Promise<number> {
    const store = this.#store;
    if (store.appendForUnfinished !== undefined && this.#replicaId !== undefined) {
      const self = this.#replicaId;
      try {
        const live = new Set(await store.liveReplicas?.(this.#clock.now()));
        const ts = new Date(this.#clock.now()).toISOString();
        const marked = await store.appendForUnfinished(
          (open) => open.filter((start) => mayMark(start, self, live)).map(interruptedEvent),
          ts,
        );
        return marked.length;
      } catch (err) {
        throw this.#unavailable(err, 'audit store write failed');
      }
    }
    const open = await this.interrupted();
    for (const start of open) await this.append(interruptedEvent(start));
    return open.length;
  }

  /**
   * With a shared store: deletes the leases that ran out and appends an `invoke_interrupted`
   * entry for each unfinished invocation of their replicas, in one transaction under the
   * store's write lock, so that of several replicas sweeping at once one marks each (the
   * one whose DELETE removed the lease). Returns how many; 0 without replicas or once closed.
   * This replica's own invocations are left alone (interrupted.ts, `maySweep`).
   */
  sweepExpired(): Promise<number> {
    const store = this.#store;
    const self = this.#replicaId;
    if (store.appendForUnfinished === undefined || self === undefined || this.#closed) {
      return Promise.resolve(0);
    }
    const now = this.#clock.now();
    const work = store
      .appendForUnfinished(
        (open, expired) =>
          open.filter((start) => maySweep(start, self, expired)).map(interruptedEvent),
        new Date(now).toISOString(),
        now,
      )
      .then(
        (marked) => marked.length,
        (err: unknown) => {
          throw this.#unavailable(err, 'audit store write failed');
        },
      );
    // close() waits for it, so no entry follows the last checkpoint.
    return this.#keep(work);
  }

  /**
   * Refuses new appends, waits for those in flight, takes a last checkpoint and closes the
   * sink and the witness. Never throws (a failed last checkpoint is logged; verify shows the unsigned tail).
   * Idempotent. Does not close the store, which the caller owns.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#timer);
      await Promise.allSettled([...this.#inflight]);
      try {
        await this.checkpoint();
      } catch {
        // Logged by #unavailable.
      }
      for (const file of [this.#sink, this.#witness]) {
        try {
          await file?.close();
        } catch (err) {
          this.#logger.error({ err_code: errorCode(err) }, 'audit sink close failed');
        }
      }
    })();
    return this.#closing;
  }

  /** Durable records to the forwarders; whatever they do, the write stays acknowledged. */
  #tell(records: readonly TrailRecord[]): void {
    try {
      this.#onRecords?.(records);
    } catch (err) {
      this.#logger.error({ err_code: errorCode(err) }, 'audit forward failed');
    }
  }

  #unavailable(err: unknown, message: string): AuditUnavailableError {
    return this.#writer.unavailable(err, message);
  }
}
