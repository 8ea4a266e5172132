/**
 * The sweep of replicas gone without a clean stop: every live replica, every SWEEP_MS,
 * marks the unfinished invocations of replicas whose lease ran out, so that those of a
 * replica killed with `kill -9` are marked by a survivor without any restart. Which
 * survivor marks them is settled in the store (`AuditLog.sweepExpired`). A SQLite store
 * has one broker and no leases: its invocations are marked when it starts again.
 */
import type { AuditLog } from '../audit/log.js';
import type { Logger } from '../base/logger.js';
import { LEASE_MS } from './replica.js';

/** Half a lease: a dead replica's invocations are marked at most 1.5 leases after its last renewal. */
export const SWEEP_MS = LEASE_MS / 2;

/** Calls `fn` every `ms` until the returned function is called; never keeps the process alive. */
export type Every = (fn: () => void, ms: number) => () => void;

const everyInterval: Every = (fn, ms) => {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
};

/** Starts sweeping; `close` stops the timer and waits for a sweep in progress. */
export function sweepReplicas(
  audit: Pick<AuditLog, 'sweepExpired'>,
  logger: Logger,
  every: Every = everyInterval,
): { close(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = (): void => {
    // One at a time: a slow sweep is not joined by the next tick's.
    running ??= audit
      .sweepExpired()
      .then(
        (interrupted) => {
          if (interrupted > 0) {
            logger.warn(
              { interrupted },
              'invocations of a replica gone without a clean stop are marked in the audit',
            );
          }
        },
        (err: unknown) => logger.warn({ err }, 'replica sweep failed'),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const stop = every(sweep, SWEEP_MS);
  return {
    close: async () => {
      stop();
      await running;
    },
  };
}
