/**
 * A spy on FileHandle#write, the durable write of the audit sink and the witness (both
 * opened O_SYNC, so a write returns once its line is on disk): tests count durable writes
 * by counting calls, never by timing them.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';

type Write = (...args: unknown[]) => Promise<unknown>;

/**
 * Counts calls of FileHandle#write (every handle's) until `restore()`; with `failAt`, that
 * call rejects with an EIO whose text must never reach a log. `dir` holds a probe file.
 */
export async function spyDurableWrites(
  dir: string,
  failAt?: number,
): Promise<{ calls: () => number; restore: () => void }> {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: Write };
  await probe.close();
  const original = proto.write;
  let calls = 0;
  proto.write = function (this: unknown, ...args: unknown[]) {
    calls += 1;
    return calls === failAt
      ? Promise.reject(Object.assign(new Error('disk gone'), { code: 'EIO' }))
      : original.apply(this, args);
  };
  return {
    calls: () => calls,
    restore: () => {
      proto.write = original;
    },
  };
}
