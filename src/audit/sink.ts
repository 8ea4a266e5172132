/**
 * Where the audit log writes its copies, one JSON line per record: the sink, a 0600 file
 * outside the database (the copy a database thief cannot rewrite) or stdout for a log
 * collector; and the witness, a file of checkpoints only on another disk or host mount (the
 * copy a restored backup of the data directory does not take back). A write resolves only
 * once its line is durable: the file is opened O_SYNC, so each write(2) returns only once
 * its data and metadata are on disk, as write + fsync would, in one call to the thread
 * pool instead of two (on one core each hop costs a context switch; issue #13).
 */
import { constants, mkdirSync, chmodSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../base/errors.js';
import { AuditUnavailableError } from './errors.js';

/** The sink file, relative to the data directory. */
export const AUDIT_SINK_FILE = join('audit', 'audit.jsonl');

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const WHERE = 'audit';

export interface Sink {
  /** Resolves once the line is durable (file: written O_SYNC, as good as fsynced). */
  write(line: string): Promise<void>;
  /**
   * A file sink's open descriptor, for a journaling store to append the lines to itself
   * (store/journal.ts); its owner then never calls `write` while the store may.
   */
  readonly fd?: number | undefined;
  /**
   * A file sink's: opens the path afresh (after log rotation renamed the file away) and
   * closes the old file once no write is in progress; lines queued meanwhile go to the new
   * one. On failure the old file stays in use. The caller must not let a journaling store
   * write to the old `fd` across the call (trail-writer.ts holds its writes meanwhile).
   */
  reopen?(): Promise<void>;
  close(): Promise<void>;
}

/** `<dataDir>/audit`, created when missing and made 0700; its path. */
export function auditDir(dataDir: string): string {
  if (typeof dataDir !== 'string' || dataDir === '') {
    throw new ConfigError(WHERE, 'dataDir is required');
  }
  const dir = join(dataDir, 'audit');
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    chmodSync(dir, DIR_MODE);
  } catch {
    throw new ConfigError(WHERE, 'the audit directory cannot be created');
  }
  return dir;
}

/** The sink of that kind: `<dataDir>/audit/audit.jsonl`, or stdout. */
export async function openSink(kind: 'file' | 'stdout', dataDir: string): Promise<Sink> {
  if (kind === 'stdout') return new StdoutSink();
  auditDir(dataDir);
  return await FileSink.open(join(dataDir, AUDIT_SINK_FILE), 'the audit sink');
}

/**
 * The witness file, for checkpoints only. Its directory must exist: a mount that is missing
 * must not silently become a directory on the broker's own disk. Inside the data directory
 * it would witness nothing, since a restored copy of the directory takes it back too.
 */
export async function openWitness(file: string, dataDir: string): Promise<Sink> {
  const inside = relative(resolve(dataDir), resolve(file));
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new ConfigError(WHERE, 'the audit witness file must be outside the data directory');
  }
  return await FileSink.open(resolve(file), 'the audit witness');
}

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * A file opened for append (never truncated), 0600: the sink in its 0700 directory, or the
 * witness. Group commit: lines that arrive while a write is in progress go together in
 * the next write; each append still resolves only once its own line is on disk.
 */
class FileSink implements Sink {
  #file: FileHandle;
  readonly #path: string;
  readonly #what: string;
  #queue: Pending[] = [];
  #flushing = false;
  /** A failed write may have left a partial line; the next write starts a fresh one. */
  #broken = false;
  #closed = false;

  private constructor(file: FileHandle, path: string, what: string) {
    this.#file = file;
    this.#path = path;
    this.#what = what;
  }

  get fd(): number {
    return this.#file.fd;
  }

  /** `what` names the file in errors: "the audit sink" or "the audit witness". */
  static async open(path: string, what: string): Promise<FileSink> {
    return new FileSink(await FileSink.#openFile(path, what), path, what);
  }

  static async #openFile(path: string, what: string): Promise<FileHandle> {
    // Without O_SYNC a write would be acknowledged before it is durable: refuse to start.
    if (typeof constants.O_SYNC !== 'number' || constants.O_SYNC === 0) {
      throw new ConfigError(WHERE, `${what} needs synchronous writes (O_SYNC)`);
    }
    let file: FileHandle;
    try {
      file = await open(
        path,
        constants.O_WRONLY |
          constants.O_APPEND |
          constants.O_CREAT |
          constants.O_NOFOLLOW |
          constants.O_SYNC,
        FILE_MODE,
      );
    } catch {
      throw new ConfigError(WHERE, `${what} file cannot be opened (or is a symlink)`);
    }
    try {
      if (!(await file.stat()).isFile()) {
        throw new ConfigError(WHERE, `${what} path is not a regular file`);
      }
      // open's mode applies only on creation and through the umask: make it exact.
      await file.chmod(FILE_MODE);
    } catch (err) {
      await file.close();
      throw err;
    }
    return file;
  }

  async reopen(): Promise<void> {
    if (this.#closed) throw new AuditUnavailableError();
    const next = await FileSink.#openFile(this.#path, this.#what);
    // Swapped between two flushes, synchronously after the check: no line is cut in two.
    while (this.#flushing) await new Promise((r) => setImmediate(r));
    const old = this.#file;
    this.#file = next;
    this.#broken = false;
    await old.close();
  }

  write(line: string): Promise<void> {
    if (this.#closed) return Promise.reject(new AuditUnavailableError());
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      const text = (this.#broken ? '\n' : '') + batch.map((p) => p.line).join('');
      try {
        await this.#writeAll(Buffer.from(text, 'utf8'));
        this.#broken = false;
        for (const p of batch) p.resolve();
      } catch (err) {
        this.#broken = true;
        for (const p of batch) p.reject(err);
      }
    }
    this.#flushing = false;
  }

  /** Every byte, durable on return (O_SYNC); a short write goes on where it stopped. */
  async #writeAll(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const { bytesWritten } = await this.#file.write(bytes, at, bytes.length - at);
      if (bytesWritten <= 0) throw new AuditUnavailableError();
      at += bytesWritten;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing) await new Promise((r) => setImmediate(r));
    await this.#file.close();
  }
}

/** One line per write on stdout, for a collector; durability is the collector's. */
class StdoutSink implements Sink {
  write(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      process.stdout.write(line, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
