/**
 * The file store's writer thread: its own connection to the database, every write of the
 * store, group-committed. better-sqlite3 is synchronous, so a commit's fsync here stalls
 * only this thread, never the broker's event loop. Started by `WorkerWriter`
 * (sqlite-writer.ts), which describes the messages.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { JournalAppender } from './journal.js';
import { SqliteAcs } from './sqlite-acs.js';
import { SqliteAudit } from './sqlite-audit.js';
import { SqliteKeys } from './sqlite-keys.js';
import { type DbFile, openWriterConnection } from './sqlite-open.js';
import type { BatchReply, WriterMessage, WriteReply, WriteRequest } from './sqlite-writer.js';
import { type SyncNeed, type Writers, isWriteName, runWrite, syncNeed } from './sqlite-writes.js';
import { toWire } from './write-errors.js';

/** At most this many requests share one transaction. */
const MAX_BATCH = 256;

const { port, file } = workerData as { port: MessagePort; file: DbFile };
const db = openWriterConnection(file);
const writers: Writers = {
  acs: new SqliteAcs(db),
  audit: new SqliteAudit(db),
  keys: new SqliteKeys(db),
};

// Called inside the batch's transaction, a transaction function is a SAVEPOINT (the
// `.immediate` ones the store's methods use too): a request that throws rolls back alone.
const one = db.transaction((req: WriteRequest): unknown => {
  if (!isWriteName(req.name)) throw new TypeError('unknown store write');
  return runWrite(writers, req.name, req.args as never);
});

/** A failed request's reply; one that carried a journal line says the line was appended. */
function failed(req: WriteRequest, err: unknown): WriteReply {
  const error = toWire(err);
  return req.journal !== undefined ? { id: req.id, error, journaled: true } : { id: req.id, error };
}

const batchTx = db.transaction((batch: readonly WriteRequest[]): WriteReply[] =>
  batch.map((req): WriteReply => {
    try {
      return { id: req.id, value: one(req) };
    } catch (err) {
      // An I/O error or a full disk can end the whole transaction: then nothing of the
      // batch will commit, so no request of it may succeed.
      if (!db.inTransaction) throw err;
      return failed(req, err);
    }
  }),
);

// Prepared once: the level changes up to twice an invocation (issue #13).
const setSync = {
  FULL: db.prepare('PRAGMA synchronous = FULL'),
  NORMAL: db.prepare('PRAGMA synchronous = NORMAL'),
} as const;
let synchronous = 'FULL';
/** A jti committed without fsync waits for a FULL commit (see `syncNeed`). */
let laterWaiting = false;

/** FULL when a write needs it now, or an audit commit comes while a jti waits. */
function wantedSync(needs: ReadonlySet<SyncNeed>): 'FULL' | 'NORMAL' {
  if (needs.has('now')) return 'FULL';
  return needs.has('none') && (laterWaiting || needs.has('later')) ? 'FULL' : 'NORMAL';
}

const journal = new JournalAppender();

/**
 * The batch's journal lines first, in arrival order (sink first, database second): a
 * request whose line fails is answered with that failure and not committed; a request that
 * is only a line is answered now. What is left is to commit.
 */
function appendJournals(batch: readonly WriteRequest[], replies: WriteReply[]): WriteRequest[] {
  const rest: WriteRequest[] = [];
  for (const req of batch) {
    if (req.journal !== undefined) {
      try {
        journal.append(req.journal);
      } catch (err) {
        replies.push({ id: req.id, error: toWire(err) });
        continue;
      }
    }
    if (req.name === 'appendJournal') replies.push({ id: req.id, value: undefined });
    else rest.push(req);
  }
  return rest;
}

/**
 * The journal lines, then one BEGIN IMMEDIATE … COMMIT for the rest of the batch, in
 * arrival order (the audit chain's order).
 */
function runBatch(all: readonly WriteRequest[]): BatchReply {
  const started = performance.now();
  // The time of the writes that reached the disk (O_SYNC lines, a FULL commit): the metrics'.
  const syncMs = (): number => performance.now() - started;
  const answered: WriteReply[] = [];
  const batch = appendJournals(all, answered);
  const journaled = all.some((req) => req.journal !== undefined);
  if (batch.length === 0) {
    return { replies: answered, synced: true, ...(journaled ? { syncMs: syncMs() } : {}) };
  }
  const needs = new Set(
    batch.map((req) => (isWriteName(req.name) ? syncNeed(req.name, req.args) : 'now')),
  );
  const wanted = wantedSync(needs);
  try {
    if (wanted !== synchronous) {
      setSync[wanted].run();
      synchronous = wanted;
    }
    const replies = batchTx.immediate(batch);
    laterWaiting = wanted === 'NORMAL' && (laterWaiting || needs.has('later'));
    const synced = wanted === 'FULL';
    return {
      replies: [...answered, ...replies],
      synced,
      ...(synced || journaled ? { syncMs: syncMs() } : {}),
    };
  } catch (err) {
    return { replies: [...answered, ...batch.map((req) => failed(req, err))], synced: true };
  }
}

port.on('message', (first: WriterMessage) => {
  // Everything already waiting joins this batch; nothing waits on a timer for company.
  const batch: WriteRequest[] = [];
  let closing = false;
  for (let msg: WriterMessage | undefined = first; msg !== undefined;) {
    if ('close' in msg) {
      closing = true;
      break;
    }
    batch.push(msg);
    if (batch.length >= MAX_BATCH) break;
    msg = receiveMessageOnPort(port)?.message as WriterMessage | undefined;
  }
  // Replies only after COMMIT returned: a caller is never acknowledged before the fsync.
  if (batch.length > 0) port.postMessage(runBatch(batch));
  if (closing) {
    db.close();
    port.close(); // nothing else holds this thread open: it exits
  }
});
