/**
 * This broker as one replica of several on a shared store: its id (made once per data
 * directory, in `<data_dir>/replica-id`) and its lease in the store, renewed while it runs
 * and given up when it stops cleanly. A replica starting marks the unfinished invocations
 * of replicas whose lease ran out; one whose lease is current is alive and left alone.
 */
import { randomUUID } from 'node:crypto';
import { constants, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { Store } from '../store/store.js';

/** How long a lease lasts unrenewed: a replica killed is seen as gone after this. */
export const LEASE_MS = 30_000;
const RENEW_MS = LEASE_MS / 3;
const ID_FILE = 'replica-id';
const ID_PATTERN = /^r-[0-9a-f-]{36}$/;

/** This data directory's replica id, made on first use. */
export function replicaIdOf(dataDir: string): string {
  const path = join(dataDir, ID_FILE);
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, `r-${randomUUID()}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(path, 'cannot be created');
    }
  }
  let id: string;
  try {
    id = readFileSync(path, 'utf8').trim();
  } catch {
    throw new ConfigError(path, 'cannot be read');
  }
  if (!ID_PATTERN.test(id)) throw new ConfigError(path, 'does not hold a replica id');
  return id;
}

/** A lease held: renewed on a timer; `close` gives it up. */
export interface Lease {
  close(): Promise<void>;
}

/** Takes the lease (undefined for a store no other broker shares) and keeps it renewed. */
export async function holdLease(
  store: Store,
  replicaId: string,
  clock: Clock,
  logger: Logger,
): Promise<Lease | undefined> {
  const renew = store.renewLease?.bind(store);
  if (renew === undefined) return undefined;
  await renew(replicaId, clock.now() + LEASE_MS);
  const timer = setInterval(() => {
    renew(replicaId, clock.now() + LEASE_MS).catch((err: unknown) =>
      logger.warn({ err }, 'replica lease renewal failed'),
    );
  }, RENEW_MS);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      // Stopped cleanly, after every request finished: nothing of ours is left to mark.
      await renew(replicaId, 0).catch(() => undefined);
    },
  };
}
