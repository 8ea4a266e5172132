/**
 * Group commit for the audit log. Every durable write costs an fsync in the sink and a
 * commit in the store; requests that arrive while a write is in progress wait and then go
 * together as ONE write (one sink write, then one store transaction), so concurrent
 * callers share them. Nothing waits on a timer for company: a request that finds no write
 * in progress starts one at once, alone; a batch is what accumulated during the previous
 * write, bounded in entries.
 *
 * Each request's promise settles only once the whole batch has been written (resolved) or
 * has failed (rejected, every request of it alike). Requests keep their arrival order,
 * inside a batch and from one batch to the next, and a request's events stay together.
 */
import type { AuditEntry } from '../base/audit-records.js';
import type { StoreEffect } from '../store/store.js';
import type { AuditFields } from '../store/audit-row.js';

/** At most this many entries in one write (a single larger request goes alone, whole). */
export const MAX_BATCH_ENTRIES = 256;

/**
 * Writes the events (checked, as `fields`) durably in order, with the requests' store
 * effects in the same commit, and returns their entries in the same order.
 */
export type BatchWriter = (
  fields: readonly AuditFields[],
  effects: readonly StoreEffect[],
) => Promise<AuditEntry[]>;

interface Request {
  readonly events: readonly AuditFields[];
  readonly effects: readonly StoreEffect[];
  readonly resolve: (entries: AuditEntry[]) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit {
  readonly #write: BatchWriter;
  readonly #maxEntries: number;
  #queue: Request[] = [];
  #writing = false;

  constructor(write: BatchWriter, maxEntries = MAX_BATCH_ENTRIES) {
    this.#write = write;
    this.#maxEntries = maxEntries;
  }

  /** Queues `events` as one request; resolves with their entries once durable. */
  submit(events: readonly AuditFields[], effects: readonly StoreEffect[]): Promise<AuditEntry[]> {
    return new Promise<AuditEntry[]>((resolve, reject) => {
      this.#queue.push({ events, effects, resolve, reject });
      // Started synchronously: a lone request is written now, not after a tick.
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const batch = this.#take();
      let entries: AuditEntry[];
      try {
        entries = await this.#write(
          batch.flatMap((r) => r.events),
          batch.flatMap((r) => r.effects),
        );
      } catch (err) {
        for (const r of batch) r.reject(err);
        continue;
      }
      let at = 0;
      for (const r of batch) {
        r.resolve(entries.slice(at, at + r.events.length));
        at += r.events.length;
      }
    }
    this.#writing = false;
  }

  /** The oldest requests, whole, up to the entry bound (always at least one request). */
  #take(): Request[] {
    let n = 0;
    let entries = 0;
    for (const r of this.#queue) {
      if (n > 0 && entries + r.events.length > this.#maxEntries) break;
      entries += r.events.length;
      n += 1;
    }
    return this.#queue.splice(0, n);
  }
}
