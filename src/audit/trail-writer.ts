/**
 * One group write of the audit log (docs/architecture.md, "Write path"): the entries
 * chained after the head, their lines on the sink, then one store commit with the batch's
 * effects. The sink goes first: once a line is there it is part of the trail, so a crash or
 * a failed commit after it leaves the database behind (put right by the next write, or at
 * start), never ahead of the copy a thief cannot rewrite. When the store appends the sink's
 * lines itself (a journaling store, store/journal.ts), line and commit are one hand-off to
 * its writer thread instead of two; the order is the same. A store shared by replicas
 * chains the entries itself, under its own lock, and there is no sink.
 */
import type { Logger } from '../base/logger.js';
import { canonicalJson } from '../base/audit-chain.js';
import type { AuditEntry } from '../base/audit-records.js';
import { type AuditFields, chainAfter } from '../store/audit-row.js';
import { journalAppended } from '../store/journal.js';
import {
  isJournaling,
  type JournalingStore,
  type Store,
  type StoreEffect,
} from '../store/store.js';
import { AuditUnavailableError, errorCode } from './errors.js';
import type { Sink } from './sink.js';

type ChainHead = { seq: number; hash: string };

export class TrailWriter {
  readonly #store: Store;
  readonly #sink: Sink;
  readonly #logger: Logger;
  /** A file sink, read back at start: its entries need no fsync in the store. */
  readonly #durableOnSink: boolean;
  /** Set when the store appends the sink's lines itself: that store, and the sink's file. */
  #journal: { readonly store: JournalingStore; readonly fd: number } | undefined;
  /**
   * Writes and lines run one after another, and a reopen of the sink between two of them:
   * the store's writer never appends to a descriptor the reopen is closing.
   */
  #tail: Promise<unknown> = Promise.resolve();
  /** The last entry on the sink: the next one chains after it. */
  #head: ChainHead | undefined;
  /** On the sink but not in the store (its commit failed): stored with the next write. */
  #unstored: AuditEntry[] = [];

  constructor(options: {
    store: Store;
    sink: Sink;
    logger: Logger;
    durableOnSink: boolean;
    head: ChainHead | undefined;
  }) {
    this.#store = options.store;
    this.#sink = options.sink;
    this.#logger = options.logger;
    this.#durableOnSink = options.durableOnSink;
    this.#head = options.head;
    const { store, sink } = options;
    this.#journal =
      isJournaling(store) && sink.fd !== undefined ? { store, fd: sink.fd } : undefined;
  }

  /** Chains, writes and stores `fields`; their entries once durable in both. */
  write(fields: readonly AuditFields[], effects: readonly StoreEffect[]): Promise<AuditEntry[]> {
    return this.#serial(() => this.#write(fields, effects));
  }

  /**
   * Opens the sink file afresh at its path (log rotation renamed it away), between two
   * writes; false when the sink is not a file. The old file keeps every line written before.
   */
  reopen(): Promise<boolean> {
    return this.#serial(async () => {
      const sink = this.#sink;
      if (sink.reopen === undefined) return false;
      await sink.reopen();
      const journal = this.#journal;
      if (journal !== undefined && sink.fd !== undefined) {
        this.#journal = { store: journal.store, fd: sink.fd };
      }
      return true;
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #write(
    fields: readonly AuditFields[],
    effects: readonly StoreEffect[],
  ): Promise<AuditEntry[]> {
    const store = this.#store;
    if (store.appendAuditChained !== undefined) {
      // A shared store (replicas): it chains after the head it reads under its lock, and
      // keeps the chain's one copy (there is no sink: openTrail).
      try {
        return await store.appendAuditChained(fields, effects);
      } catch (err) {
        throw this.unavailable(err, 'audit store write failed');
      }
    }
    const { entries } = chainAfter(this.#head, fields);
    const text = entries.map((entry) => canonicalJson(entry) + '\n').join('');
    const toStore = [...this.#unstored, ...entries];
    const options = { durableOnSink: this.#durableOnSink };
    const journaled = this.#journal;
    try {
      if (journaled !== undefined) {
        const journal = { fd: journaled.fd, text };
        await journaled.store.insertAuditEntries(toStore, effects, { ...options, journal });
      } else {
        await this.#line(text);
        this.#onSink(entries);
        await store.insertAuditEntries(toStore, effects, options);
      }
    } catch (err) {
      if (err instanceof AuditUnavailableError) throw err; // the sink's own: not on it
      // A journaled write that failed before its line was appended left nothing behind.
      if (journaled !== undefined && !journalAppended(err)) {
        throw this.unavailable(err, 'audit sink write failed');
      }
      this.#onSink(entries);
      // The callers are told it failed; their entries stay on the sink and go to the
      // store with the next write (their effects do not: those callers gave up).
      this.#unstored = toStore;
      throw this.unavailable(err, 'audit store write failed');
    }
    this.#onSink(entries);
    this.#unstored = [];
    return entries;
  }

  /** A line of its own (a checkpoint's) on the sink, in order with the entries' lines. */
  line(text: string): Promise<void> {
    return this.#serial(() => this.#line(text));
  }

  async #line(text: string): Promise<void> {
    const journaled = this.#journal;
    try {
      if (journaled !== undefined) {
        await journaled.store.appendJournal({ fd: journaled.fd, text });
      } else {
        await this.#sink.write(text);
      }
    } catch (err) {
      throw this.unavailable(err, 'audit sink write failed');
    }
  }

  /** Logs what failed (its code only) and returns the error callers get. */
  unavailable(err: unknown, message: string): AuditUnavailableError {
    this.#logger.error({ err_code: errorCode(err) }, message);
    return new AuditUnavailableError({ cause: err });
  }

  #onSink(entries: readonly AuditEntry[]): void {
    const last = entries.at(-1);
    if (last !== undefined) this.#head = { seq: last.seq, hash: last.hash };
  }
}
