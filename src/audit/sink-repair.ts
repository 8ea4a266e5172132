/**
 * What the audit log repairs at start, from the sink file, after a crash. The sink is
 * written first and the database second (the sink is the copy a database thief cannot
 * rewrite, so it is the one trusted), which leaves two traces of a crash: a last line cut
 * short (a write that never completed, so never acknowledged: removed here), and entries
 * past the database's head (on the sink, never committed to the database: read here, from
 * the end of the file, for the log to put back in the database).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { AuditEntry } from '../base/audit-records.js';

const BLOCK = 65_536;
const NEWLINE = 0x0a;

/**
 * Cuts a last line without its newline off `file`; true when there was one. A missing file
 * has none.
 */
export async function trimTornLine(file: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    let end = 0; // no newline at all: the whole file is the torn line
    for await (const { start, buf } of blocksBackward(handle, size)) {
      if (start + buf.length === size && buf[buf.length - 1] === NEWLINE) return false;
      const at = buf.lastIndexOf(NEWLINE);
      if (at >= 0) {
        end = start + at + 1;
        break;
      }
    }
    await handle.truncate(end);
    await handle.sync();
    return true;
  } finally {
    await handle.close();
  }
}

/** The file's bytes from its end to its start, a block at a time (one line may span many). */
async function* blocksBackward(
  handle: FileHandle,
  size: number,
): AsyncGenerator<{ start: number; buf: Buffer }> {
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - BLOCK);
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    yield { start, buf };
    end = start;
  }
}

/** What follows the database's head on the sink. */
export interface SinkTail {
  /** Entry lines with seq > the head's, oldest first. */
  readonly entries: AuditEntry[];
  /**
   * A checkpoint line past the head: the database is older than a head the broker signed,
   * so it was restored from an older copy, which no crash explains.
   */
  readonly checkpointPast: boolean;
}

/**
 * The lines with seq > `afterSeq` at the end of `file`, read backwards until an entry line
 * at or below `afterSeq` — or, with `untilCheckpoint`, until the last checkpoint line (a
 * witness holds checkpoints only, and only grows: its last is its highest). Empty when the
 * file is missing.
 */
export async function readSinkTail(
  file: string,
  afterSeq: number,
  untilCheckpoint = false,
): Promise<SinkTail> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { entries: [], checkpointPast: false };
    throw err;
  }
  const tail: AuditEntry[] = [];
  let checkpointPast = false;
  const result = (): SinkTail => ({ entries: tail, checkpointPast });
  try {
    let carry: Buffer = Buffer.alloc(0); // the start of a line whose beginning is not read yet
    for await (const { start, buf: block } of blocksBackward(handle, (await handle.stat()).size)) {
      const lines = splitLines(Buffer.concat([block, carry]));
      // Unless the file's start was reached, the first piece may be a partial line.
      carry = start > 0 ? (lines.shift() ?? Buffer.alloc(0)) : Buffer.alloc(0);
      for (let i = lines.length - 1; i >= 0; i--) {
        const record = recordOf(lines[i] as Buffer);
        if (record === undefined) continue;
        if ('checkpoint' in record) {
          checkpointPast ||= record.checkpoint > afterSeq;
          if (untilCheckpoint) return result();
          continue;
        }
        if (record.seq <= afterSeq) return result();
        tail.unshift(record);
      }
    }
    return result();
  } finally {
    await handle.close();
  }
}

function splitLines(buf: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let from = 0;
  for (let at = buf.indexOf(NEWLINE); at >= 0; at = buf.indexOf(NEWLINE, from)) {
    lines.push(buf.subarray(from, at));
    from = at + 1;
  }
  lines.push(buf.subarray(from));
  return lines;
}

/**
 * The entry a line holds, or a checkpoint's seq; undefined for a line that is neither
 * (verify reports those). An entry's fields are checked, and its hash recomputed, by the
 * store when it is put back.
 */
function recordOf(line: Buffer): AuditEntry | { checkpoint: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if ('checkpoint' in value) {
    const seq = (value.checkpoint as { seq?: unknown } | null)?.seq;
    return Number.isSafeInteger(seq) ? { checkpoint: seq as number } : undefined;
  }
  const seq = (value as { seq?: unknown }).seq;
  return Number.isSafeInteger(seq) ? (value as AuditEntry) : undefined;
}
