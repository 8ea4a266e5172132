/**
 * A journal: a file (the audit sink, opened O_SYNC by its owner) that the store's writer
 * appends a write's line to before it commits that write, in the same thread (issue #13).
 * One hand-off to the writer thread per audit write instead of two (the sink's write in
 * libuv's pool, then the commit): on a busy core each hand-off waits for the scheduler, and
 * its tail is the invocation's. The order is the audit log's: sink first, database second.
 * The journal's owner opens and closes the file and never writes it while the store does.
 */
import { writeSync } from 'node:fs';
import { StoreJournalError } from './errors.js';

/** `text` to append to the open file `fd` before the write it goes with is committed. */
export interface JournalWrite {
  readonly fd: number;
  readonly text: string;
}

const APPENDED = Symbol('bastion.journalAppended');

/**
 * Marks the error of a write whose journal line was appended before the write failed: the
 * line is in the file, its entries are part of the trail. Every other failure of a
 * journaled write (the line failed, the write never reached the writer, the writer died)
 * carries no mark: the caller must not count the line as written.
 */
export function markJournalAppended<E extends Error>(err: E): E {
  Object.defineProperty(err, APPENDED, { value: true });
  return err;
}

export function journalAppended(err: unknown): boolean {
  return err instanceof Error && (err as Error & { [APPENDED]?: true })[APPENDED] === true;
}

/** Appends journal lines, each whole or failed; a failure leaves the next line a fresh start. */
export class JournalAppender {
  /** Files whose last write failed part way: their next line starts on a new line. */
  readonly #broken = new Set<number>();

  /** Durable on return (the file is O_SYNC); throws StoreJournalError on any failure. */
  append(journal: JournalWrite): void {
    const { fd } = journal;
    const bytes = Buffer.from((this.#broken.has(fd) ? '\n' : '') + journal.text, 'utf8');
    try {
      for (let at = 0; at < bytes.length;) {
        const written = writeSync(fd, bytes, at, bytes.length - at);
        if (written <= 0) throw new StoreJournalError();
        at += written;
      }
    } catch {
      this.#broken.add(fd);
      throw new StoreJournalError();
    }
    this.#broken.delete(fd);
  }
}
