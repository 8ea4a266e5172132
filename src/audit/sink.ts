/**
 * Where the audit log writes its second copy, one JSON line per record: a 0600 file outside
 * the database (the witness a database thief or a restored backup cannot rewrite), or
 * stdout for a log collector. A write resolves only once its line is durable.
 */
import { constants, mkdirSync, chmodSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../base/errors.js';
import { AuditUnavailableError } from './errors.js';

/** The sink file, relative to the data directory. */
export const AUDIT_SINK_FILE = join('audit', 'audit.jsonl');

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const WHERE = 'audit';

export interface Sink {
  /** Resolves once the line is durable (file: written and fsynced). */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/** The sink of that kind: `<dataDir>/audit/audit.jsonl`, or stdout. */
export async function openSink(kind: 'file' | 'stdout', dataDir: string): Promise<Sink> {
  return kind === 'stdout' ? new StdoutSink() : await FileSink.open(dataDir);
}

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * `<dataDir>/audit/audit.jsonl`, opened for append (never truncated), 0600 in a 0700
 * directory. Group commit: lines that arrive while a write is in progress go together in
 * the next write and share its fsync; each append still resolves only once its own line is
 * on disk.
 */
class FileSink implements Sink {
  readonly #file: FileHandle;
  #queue: Pending[] = [];
  #flushing = false;
  /** A failed write may have left a partial line; the next write starts a fresh one. */
  #broken = false;
  #closed = false;

  private constructor(file: FileHandle) {
    this.#file = file;
  }

  static async open(dataDir: string): Promise<FileSink> {
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
    let file: FileHandle;
    try {
      file = await open(
        join(dataDir, AUDIT_SINK_FILE),
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        FILE_MODE,
      );
    } catch {
      throw new ConfigError(WHERE, 'the audit sink file cannot be opened (or is a symlink)');
    }
    try {
      if (!(await file.stat()).isFile()) {
        throw new ConfigError(WHERE, 'the audit sink path is not a regular file');
      }
      // open's mode applies only on creation and through the umask: make it exact.
      await file.chmod(FILE_MODE);
    } catch (err) {
      await file.close();
      throw err;
    }
    return new FileSink(file);
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
        await this.#file.appendFile(text, 'utf8');
        await this.#file.sync();
        this.#broken = false;
        for (const p of batch) p.resolve();
      } catch (err) {
        this.#broken = true;
        for (const p of batch) p.reject(err);
      }
    }
    this.#flushing = false;
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
