/**
 * The errors a `Store` raises beyond bad arguments; codes, statuses and messages are in the
 * error catalog. Backend-neutral, so every implementation raises the same ones.
 */
import { BastionError } from '../base/errors.js';

/**
 * The database cannot take the write now (locked past the busy timeout, read-only, out of
 * space, an I/O error): the request is refused as unavailable, not as a server fault.
 */
export class StoreUnavailableError extends BastionError {
  constructor() {
    super('store_unavailable');
  }
}

/** `insertAc` with an ac_id that is already stored. */
export class AcConflictError extends BastionError {
  constructor() {
    super('ac_conflict');
  }
}

/** A call on a store after `close()`: the broker is shutting down. */
export class StoreClosedError extends BastionError {
  constructor() {
    super('store_closed');
  }
}

/**
 * `insertAuditEntries` with entries that do not continue the stored chain: another writer
 * moved its head, or the entries were not chained as the store chains them.
 */
export class AuditChainConflictError extends BastionError {
  constructor() {
    super('audit_chain_conflict');
  }
}

/**
 * The writer thread of a file store has died: no write can be made (fail closed) until
 * the broker restarts; reads still work.
 */
export class StoreWriterFailedError extends BastionError {
  constructor() {
    super('store_writer_failed');
  }
}

/**
 * The journal line a write carried (the audit sink's) could not be written: the write was
 * not committed either. A partial line may be left; the next journal line starts afresh.
 */
export class StoreJournalError extends BastionError {
  constructor() {
    super('store_journal_failed');
  }
}
