/**
 * Reading the external sink (audit.jsonl) and the witness for verification, reduced to what
 * is compared with the database: each entry line's seq and hash, and the checkpoint lines.
 * A last line cut short by a crash is forgiven; any other line that is not a record is a
 * problem (on the witness, which holds checkpoints only, so is an entry line).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ConfigError } from '../base/errors.js';
import type { AuditCheckpoint } from '../store/store.js';
import type { ReportProblem } from './report.js';

const HEX_HASH = /^[0-9a-f]{64}$/;

/** What the sink says, reduced to what verification compares. */
export interface SinkView {
  /** seq → hash of the last entry line with that seq. */
  readonly entries: Map<number, string>;
  readonly checkpoints: AuditCheckpoint[];
  maxEntrySeq: number;
  /** The first seq for which the sink holds two different entries: a fork. */
  forkSeq: number | undefined;
}

/** What the file is: the sink holds entries and checkpoints, the witness checkpoints only. */
export type AuditFileRole = 'sink' | 'witness';

/**
 * Reads the sink or the witness line by line; undefined when the file does not exist. A
 * last line without its newline is a write cut short by a crash, and is skipped if it does
 * not parse; any other line that is not a record of the file's role is a problem.
 */
export async function readAuditFile(
  file: string,
  role: AuditFileRole,
  problem: ReportProblem,
  /** A view to add to (the sink's rotated copies read into one view); default a new one. */
  into?: SinkView,
): Promise<SinkView | undefined> {
  let endsWithNewline: boolean;
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const last = Buffer.alloc(1);
      endsWithNewline =
        size === 0 || ((await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] === 10);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('audit', `the audit ${role} file cannot be read`);
  }

  const view: SinkView = into ?? {
    entries: new Map(),
    checkpoints: [],
    maxEntrySeq: 0,
    forkSeq: undefined,
  };
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  let bad: number | undefined; // the latest unparseable line, judged once we know if it was last
  const reportBad = (n: number): void =>
    role === 'sink'
      ? problem('sink_mismatch', 0, `line ${n} of the sink is not an audit record`)
      : problem('witness_mismatch', 0, `line ${n} of the witness is not a checkpoint`);
  for await (const line of lines) {
    lineNo += 1;
    if (bad !== undefined) {
      reportBad(bad);
      bad = undefined;
    }
    if (line.trim() === '') continue;
    const record = parseLine(line);
    if (record === undefined || (role === 'witness' && !('checkpoint' in record))) {
      bad = lineNo;
    } else if ('checkpoint' in record) {
      view.checkpoints.push(record.checkpoint);
    } else {
      const known = view.entries.get(record.seq);
      if (known !== undefined && known !== record.hash && view.forkSeq === undefined) {
        view.forkSeq = record.seq;
      }
      view.entries.set(record.seq, record.hash);
      view.maxEntrySeq = Math.max(view.maxEntrySeq, record.seq);
    }
  }
  if (bad !== undefined && (bad !== lineNo || endsWithNewline)) reportBad(bad);
  return view;
}

type SinkRecord = { seq: number; hash: string } | { checkpoint: AuditCheckpoint };

function parseLine(line: string): SinkRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if ('checkpoint' in record) {
    const cp = record['checkpoint'] as Record<string, unknown> | null;
    if (typeof cp !== 'object' || cp === null) return undefined;
    const { seq, hash, ts, jws } = cp;
    if (!isSeq(seq) || !isHash(hash) || typeof ts !== 'string' || typeof jws !== 'string') {
      return undefined;
    }
    return { checkpoint: { seq, hash, ts, jws } };
  }
  const { seq, hash } = record;
  return isSeq(seq) && isHash(hash) ? { seq, hash } : undefined;
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isHash = (v: unknown): v is string => typeof v === 'string' && HEX_HASH.test(v);
