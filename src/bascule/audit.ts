/**
 * Bascule's own audit: an append-only JSON Lines file (0600), hash-chained exactly like the
 * broker's (`seq` from 1, `prev` = the previous entry's `hash`, 64 zeros for the first,
 * `hash` = SHA-256 hex over the canonical JSON of every other field), through the one chain
 * definition in src/base/audit-chain.ts so both trails verify with the same code.
 *
 * Entries: `exec_start` (grant jti, AC id, principal, argv), `exec_end` (exit code, signal,
 * duration, truncation, timed_out, or the error the run ended with) and `deny` (the code a
 * request was refused with). Each line is the entry's canonical JSON.
 *
 * Appends are serialised, written whole and fdatasync'd before they count: the runtime runs
 * nothing it could not record. A failed write is rolled back (the file truncated to its last
 * good length); if even that fails, the log refuses every further append, since its tail is
 * no longer known. On open the chain resumes from the last line, which must verify: a torn
 * or edited last line stops the start rather than being chained onto. One process appends
 * to a file at a time.
 */
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { auditHash, canonicalJson, GENESIS } from '../base/audit-chain.js';
import { type Clock, systemClock } from '../base/clock.js';
import { BastionError } from '../base/errors.js';

export const BASCULE_AUDIT_TYPES = ['exec_start', 'exec_end', 'deny'] as const;
export type BasculeAuditType = (typeof BASCULE_AUDIT_TYPES)[number];

export interface BasculeAuditEvent {
  readonly type: BasculeAuditType;
  /** This Bascule instance's canonical target name. */
  readonly target?: string | undefined;
  /** The grant's `jti`: ties exec_start and exec_end of one run. */
  readonly grant_jti?: string | undefined;
  /** The AC the grant derives from (its `ac` claim). */
  readonly ac_id?: string | undefined;
  /** The principal DID the grant names. */
  readonly principal?: string | undefined;
  /** `ok`, or the error code the request or the run ended with. */
  readonly outcome?: string | undefined;
  /** Metadata: argv, exit_code, duration_ms, truncation, timed_out. */
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}

export interface BasculeAuditEntry extends BasculeAuditEvent {
  readonly seq: number;
  /** ISO 8601, from the runtime's clock. */
  readonly ts: string;
  readonly prev: string;
  readonly hash: string;
}

export type BasculeAuditCode = 'bascule_audit_unavailable' | 'bascule_audit_corrupt';

export class BasculeAuditError extends BastionError {
  declare readonly code: BasculeAuditCode;

  constructor(code: BasculeAuditCode, options?: { cause?: unknown }) {
    super(code, options);
  }
}

export interface BasculeAuditOptions {
  readonly clock?: Clock;
  /** fdatasync after each entry (default true); off only where durability does not matter. */
  readonly sync?: boolean;
}

/** Entries can hold a 1 MiB argv; the tail is read back in chunks until its line starts. */
const TAIL_CHUNK = 64 * 1024;
const MAX_LINE = 16 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

/** Why a parsed line is not the entry that follows (`seq`, `prev`); undefined when it is. */
function entryProblem(entry: unknown, seq: number, prev: string): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not an object';
  const e = entry as Json;
  if (!BASCULE_AUDIT_TYPES.includes(e['type'] as BasculeAuditType)) return 'unknown type';
  if (typeof e['ts'] !== 'string') return 'missing ts';
  if (e['seq'] !== seq) return 'seq out of order';
  if (e['prev'] !== prev) return 'prev does not link to the previous entry';
  if (typeof e['hash'] !== 'string' || !HEX64.test(e['hash'])) return 'missing hash';
  let hash: string;
  try {
    hash = auditHash(e);
  } catch {
    return 'not canonical JSON';
  }
  return hash === e['hash'] ? undefined : 'hash does not match the entry';
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/** The last line of an open file (without its newline); undefined for an empty file. */
async function lastLine(fh: FileHandle, size: number): Promise<string | undefined> {
  if (size === 0) return undefined;
  const final = Buffer.alloc(1);
  await fh.read(final, 0, 1, size - 1);
  // A file that does not end in a newline was torn mid-write: nothing may be chained onto it.
  if (final[0] !== 0x0a) throw new BasculeAuditError('bascule_audit_corrupt');
  const end = size - 1;
  let start = end;
  const chunks: Buffer[] = [];
  while (start > 0) {
    const from = Math.max(0, start - TAIL_CHUNK);
    const chunk = Buffer.alloc(start - from);
    await fh.read(chunk, 0, chunk.byteLength, from);
    const nl = chunk.lastIndexOf(0x0a);
    if (nl >= 0) {
      chunks.unshift(chunk.subarray(nl + 1));
      break;
    }
    chunks.unshift(chunk);
    start = from;
    if (end - start > MAX_LINE) throw new BasculeAuditError('bascule_audit_corrupt');
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The append-only, hash-chained audit file of one Bascule instance. */
export class BasculeAuditLog {
  readonly file: string;
  readonly #fh: FileHandle;
  readonly #clock: Clock;
  readonly #sync: boolean;
  #seq: number;
  #lastHash: string;
  #size: number;
  #queue: Promise<void> = Promise.resolve();
  #broken = false;
  #closed = false;

  private constructor(
    file: string,
    fh: FileHandle,
    tail: { seq: number; hash: string; size: number },
    options: BasculeAuditOptions,
  ) {
    this.file = file;
    this.#fh = fh;
    this.#clock = options.clock ?? systemClock;
    this.#sync = options.sync ?? true;
    this.#seq = tail.seq;
    this.#lastHash = tail.hash;
    this.#size = tail.size;
  }

  /**
   * Opens (or creates, 0600) the file and resumes the chain from its last line. A symlink
   * is refused (O_NOFOLLOW), as is anything but a regular file.
   */
  static async open(file: string, options: BasculeAuditOptions = {}): Promise<BasculeAuditLog> {
    const flags = constants.O_APPEND | constants.O_CREAT | constants.O_RDWR | constants.O_NOFOLLOW;
    let fh: FileHandle;
    try {
      fh = await fs.open(file, flags, 0o600);
    } catch (err) {
      throw new BasculeAuditError('bascule_audit_unavailable', { cause: err });
    }
    try {
      const stat = await fh.stat();
      if (!stat.isFile()) throw new BasculeAuditError('bascule_audit_corrupt');
      // The mode at creation is subject to the umask and an existing file keeps its own.
      if ((stat.mode & 0o777) !== 0o600) await fh.chmod(0o600);
      const line = await lastLine(fh, stat.size);
      let tail = { seq: 0, hash: GENESIS, size: stat.size };
      if (line !== undefined) {
        const entry = parseLine(line) as Json | undefined;
        const seq = entry?.['seq'];
        const prev = entry?.['prev'];
        if (
          typeof seq !== 'number' ||
          !Number.isSafeInteger(seq) ||
          seq < 1 ||
          typeof prev !== 'string' ||
          entryProblem(entry, seq, prev) !== undefined
        ) {
          throw new BasculeAuditError('bascule_audit_corrupt');
        }
        tail = { seq, hash: entry?.['hash'] as string, size: stat.size };
      }
      return new BasculeAuditLog(file, fh, tail, options);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The seq of the last entry written (0 for an empty file). */
  get lastSeq(): number {
    return this.#seq;
  }

  /**
   * Appends one entry and resolves once it is on disk; rejects with
   * `bascule_audit_unavailable` when it could not be written, and then nothing was.
   */
  append(event: BasculeAuditEvent): Promise<BasculeAuditEntry> {
    const result = this.#queue.then(() => this.#write(event));
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async #write(event: BasculeAuditEvent): Promise<BasculeAuditEntry> {
    if (this.#broken || this.#closed) throw new BasculeAuditError('bascule_audit_unavailable');
    const body = {
      ...event,
      seq: this.#seq + 1,
      ts: new Date(this.#clock.now()).toISOString(),
      prev: this.#lastHash,
    };
    let entry: BasculeAuditEntry;
    let bytes: Buffer;
    try {
      entry = { ...body, hash: auditHash(body) };
      bytes = Buffer.from(canonicalJson(entry) + '\n', 'utf8');
    } catch (err) {
      throw new BasculeAuditError('bascule_audit_unavailable', { cause: err });
    }
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        const { bytesWritten } = await this.#fh.write(bytes, written);
        written += bytesWritten;
      }
      if (this.#sync) await this.#fh.datasync();
    } catch (err) {
      try {
        await this.#fh.truncate(this.#size);
      } catch {
        this.#broken = true;
      }
      throw new BasculeAuditError('bascule_audit_unavailable', { cause: err });
    }
    this.#size += bytes.byteLength;
    this.#seq = entry.seq;
    this.#lastHash = entry.hash;
    return entry;
  }

  /** Waits for pending appends, then closes the file; later appends are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#fh.close();
  }
}

export type BasculeAuditVerification =
  | { readonly ok: true; readonly entries: number; readonly lastHash: string }
  | {
      readonly ok: false;
      /** 1-based line number of the first entry that does not verify. */
      readonly line: number;
      readonly reason: string;
      /** Entries before it, which do verify. */
      readonly entries: number;
    };

/**
 * Verifies a whole audit file: every line parses, seqs run 1, 2, 3…, each `prev` is the
 * hash before it and each `hash` is recomputed. Reports the first line that fails.
 */
export async function verifyBasculeAudit(file: string): Promise<BasculeAuditVerification> {
  const text = await fs.readFile(file, 'utf8');
  if (text === '') return { ok: true, entries: 0, lastHash: GENESIS };
  const lines = text.split('\n');
  const torn = lines.pop() !== '';
  let prev = GENESIS;
  for (const [index, line] of lines.entries()) {
    const entry = parseLine(line);
    const problem = entry === undefined ? 'not JSON' : entryProblem(entry, index + 1, prev);
    if (problem !== undefined)
      return { ok: false, line: index + 1, reason: problem, entries: index };
    prev = (entry as Json)['hash'] as string;
  }
  if (torn) {
    return {
      ok: false,
      line: lines.length + 1,
      reason: 'the last line is incomplete',
      entries: lines.length,
    };
  }
  return { ok: true, entries: lines.length, lastHash: prev };
}
