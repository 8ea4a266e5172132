/**
 * A store commit of audit entries that fails as the file store's writer fails one: the
 * write's journal line (the audit sink's) is appended first, then the commit fails, and the
 * error says the line was appended. For tests that put a failing store under the audit log.
 */
import { markJournalAppended } from '../../src/store/journal.js';
import type { JournalingStore, JournalWrite } from '../../src/store/store.js';

export async function failedCommit(
  real: JournalingStore,
  options: unknown,
  err: Error,
): Promise<never> {
  const journal = (options as { journal?: JournalWrite } | undefined)?.journal;
  if (journal === undefined) throw err;
  await real.appendJournal(journal);
  throw markJournalAppended(err);
}
