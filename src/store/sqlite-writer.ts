/**
 * Where a store's writes run. A file store sends each write to one writer thread
 * (sqlite-writer-worker.ts) over a dedicated MessageChannel, so no commit's fsync runs on
 * the event loop, and concurrent writes share a commit; a caller's promise settles when the
 * reply of its batch arrives, after COMMIT. If the thread dies, every pending and later
 * write fails closed. The in-memory store (tests) runs its writes inline.
 */
import {
  MessageChannel,
  type MessagePort,
  Worker,
  receiveMessageOnPort,
} from 'node:worker_threads';
import { InvalidArgumentError } from '../base/errors.js';
import { StoreWriterFailedError } from './errors.js';
import { mapCallError } from './sqlite-errors.js';
import { JournalAppender, type JournalWrite, markJournalAppended } from './journal.js';
import type { DbFile } from './sqlite-open.js';
import {
  type WriteArgs,
  type WriteName,
  type WriteResult,
  type WriteRunner,
  type WriteStats,
  type Writers,
  runWrite,
} from './sqlite-writes.js';
import { type WireError, fromWire } from './write-errors.js';

/** Main → writer: one write, or the last message, `close`. */
export interface WriteRequest {
  readonly id: number;
  readonly name: WriteName;
  readonly args: readonly unknown[];
  /** Appended before the write is made; the write fails if it cannot be. */
  readonly journal?: JournalWrite | undefined;
}
export type WriterMessage = WriteRequest | { readonly close: true };

/** Writer → main, one per request; `journaled`: the request's journal line was appended. */
export type WriteReply =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: WireError; readonly journaled?: true };

/** Writer → main, one per committed (or failed) transaction; `synced`: FULL, not NORMAL. */
export interface BatchReply {
  readonly replies: WriteReply[];
  readonly synced: boolean;
  /** How long the batch took, when it wrote to disk durably (a journal line, a FULL commit). */
  readonly syncMs?: number;
}

const WORKER_URL = new URL('./sqlite-writer-worker.js', import.meta.url);

/**
 * The writer thread's entry: the compiled sibling module; or, run from source under tsx
 * (the bench), the .ts sibling behind tsx's loader, which Node 20 does not carry into a
 * worker by itself.
 */
function writerEntry(): { entry: URL | string; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { entry: WORKER_URL, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = new URL('./sqlite-writer-worker.ts', import.meta.url).href;
  const code = `const { register } = await import(${JSON.stringify(tsx)});
    register();
    await import(${JSON.stringify(source)});`;
  return { entry: code, eval: true };
}

/** The in-memory store's writes: run now, each its own transaction. */
export class InlineWriter implements WriteRunner {
  readonly #writers: Writers;
  readonly #journal = new JournalAppender();
  #requests = 0;

  constructor(writers: Writers) {
    this.#writers = writers;
  }

  run<N extends WriteName>(
    name: N,
    args: WriteArgs<N>,
    journal?: JournalWrite,
  ): Promise<WriteResult<N>> {
    return new Promise((resolve) => {
      this.#requests += 1;
      if (journal !== undefined) this.#journal.append(journal);
      try {
        resolve(runWrite(this.#writers, name, args));
      } catch (err) {
        const mapped = mapCallError(err);
        throw journal !== undefined && mapped instanceof Error
          ? markJournalAppended(mapped)
          : mapped;
      }
    });
  }

  stats(): WriteStats {
    return { transactions: this.#requests, requests: this.#requests, unsynced: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** The file store's writes, in the writer thread. */
export class WorkerWriter implements WriteRunner {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #transactions = 0;
  #requests = 0;
  #unsynced = 0;
  #failed = false;
  #exited = false;
  #closing: Promise<void> | undefined;
  #onSync: ((seconds: number) => void) | undefined;

  /** `file` was opened and migrated by the caller's connection. */
  constructor(file: DbFile) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const { entry, eval: isEval } = writerEntry();
    this.#worker = new Worker(entry, {
      eval: isEval,
      workerData: { port: port2, file },
      transferList: [port2],
      // None of the process's flags: the thread needs none, and some (`--input-type` of a
      // `node -e` script, per-process ones) a worker refuses.
      execArgv: [],
    });
    this.#port.on('message', (batch: BatchReply) => this.#settle(batch));
    // Whatever the thread's error says (it may quote SQL values), the writes just fail.
    this.#worker.on('error', () => this.#fail());
    this.#worker.on('exit', () => {
      this.#exited = true;
      this.#fail();
    });
    this.#hold(false);
  }

  run<N extends WriteName>(
    name: N,
    args: WriteArgs<N>,
    journal?: JournalWrite,
  ): Promise<WriteResult<N>> {
    return new Promise<unknown>((resolve, reject) => {
      if (this.#failed) throw new StoreWriterFailedError();
      const id = this.#nextId++;
      try {
        this.#port.postMessage({ id, name, args, journal } satisfies WriterMessage);
      } catch {
        throw new InvalidArgumentError('store write argument'); // not cloneable
      }
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#hold(true);
    }) as Promise<WriteResult<N>>;
  }

  stats(): WriteStats {
    return {
      transactions: this.#transactions,
      requests: this.#requests,
      unsynced: this.#unsynced,
    };
  }

  observeSync(fn: (seconds: number) => void): void {
    this.#onSync = fn;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      if (this.#exited) return resolve();
      this.#worker.once('exit', () => resolve());
      this.#worker.ref(); // until the queued writes are done and the thread is gone
      this.#port.postMessage({ close: true } satisfies WriterMessage);
    });
    return this.#closing;
  }

  /** Test-only: kills the writer thread as a crash would. */
  testOnlyTerminate(): Promise<void> {
    return this.#worker.terminate().then(() => undefined);
  }

  #settle({ replies, synced, syncMs }: BatchReply): void {
    if (syncMs !== undefined) this.#onSync?.(syncMs / 1000);
    this.#transactions += 1;
    this.#requests += replies.length;
    if (!synced) this.#unsynced += 1;
    for (const reply of replies) {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) continue;
      this.#pending.delete(reply.id);
      if ('error' in reply) {
        const err = fromWire(reply.error);
        pending.reject(reply.journaled === true ? markJournalAppended(err) : err);
      } else pending.resolve(reply.value);
    }
    if (this.#pending.size === 0 && this.#closing === undefined) this.#hold(false);
  }

  /** Fail closed: every write waiting now and every later one rejects. */
  #fail(): void {
    this.#failed = true;
    // Replies the thread posted before it ended may not have been dispatched yet ('exit'
    // can overtake them): those writes committed, so they are answered as such.
    for (let msg = receiveMessageOnPort(this.#port); msg !== undefined;) {
      this.#settle(msg.message as BatchReply);
      msg = receiveMessageOnPort(this.#port);
    }
    for (const pending of this.#pending.values()) pending.reject(new StoreWriterFailedError());
    this.#pending.clear();
    this.#hold(false);
  }

  /**
   * An idle writer does not keep the process alive (an open store never did); one with a
   * write in flight does, so that no write is dropped by an exit.
   */
  #hold(busy: boolean): void {
    if (busy) {
      this.#worker.ref();
      this.#port.ref();
    } else {
      this.#worker.unref();
      this.#port.unref();
    }
  }
}
