/**
 * A spy on FileHandle#sync, the audit sink's and the witness's fsync: tests count durable
 * writes by counting calls, never by timing them.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Counts calls of FileHandle#sync (every handle's) until `restore()`; with `failAt`, that
 * call rejects with an EIO whose text must never reach a log. `dir` holds a probe file.
 */
export async function spySync(
  dir: string,
  failAt?: number,
): Promise<{ calls: () => number; restore: () => void }> {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const original = proto.sync;
  let calls = 0;
  proto.sync = function (this: unknown) {
    calls += 1;
    return calls === failAt
      ? Promise.reject(Object.assign(new Error('disk gone'), { code: 'EIO' }))
      : original.call(this);
  };
  return {
    calls: () => calls,
    restore: () => {
      proto.sync = original;
    },
  };
}
