/**
 * A named pipe as an event a command can raise, where a test would otherwise sleep and
 * hope: the command writes a line when it has got somewhere (`echo ready > FIFO`), and the
 * pipe ends when every process holding its write end has exited (a background child that
 * has it as stdout). The test awaits `line` or `ended`.
 *
 * Opening a FIFO waits for the other end: a command killed before it opened its end
 * would leave the test's reader waiting for ever. Have the command open it first thing
 * (`exec 3> FIFO`) and pass that descriptor on, and give `signal` (the test's `t.signal`)
 * so a test that times out releases the reader.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, createReadStream, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Fifo {
  readonly path: string;
  /** The first line written. */
  readonly line: Promise<string>;
  /** Every writer has closed it, having opened it. */
  readonly ended: Promise<void>;
  /** Unblocks the reader if no writer ever came (call in `finally`). */
  release(): void;
}

export function makeFifo(dir: string, name: string, signal?: AbortSignal): Fifo {
  const path = join(dir, name);
  rmSync(path, { force: true });
  const made = spawnSync('mkfifo', ['-m', '600', path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${String(made.stderr)}`);
  // Opening for reading waits (in libuv's thread pool) until a writer opens it.
  const stream = createReadStream(path);
  let text = '';
  const line = new Promise<string>((resolve, reject) => {
    stream.on('data', (chunk: Buffer | string) => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl !== -1) resolve(text.slice(0, nl));
    });
    stream.once('end', () => reject(new Error(`${name} ended without a line`)));
    stream.once('error', reject);
  });
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  // Either may go unawaited.
  line.catch(() => undefined);
  ended.catch(() => undefined);
  const release = (): void => {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader waiting: nothing to release.
    }
  };
  signal?.addEventListener('abort', release, { once: true });
  return { path, line, ended, release };
}
