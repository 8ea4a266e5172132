/** How a long-running command (serve, bascule, mcp) waits for its end: SIGTERM or SIGINT. */
import type { Logger } from '../base/logger.js';

/**
 * Resolves with the signal's name at the first SIGTERM or SIGINT. Call it before the
 * command says it is up: until a handler is installed, a signal kills the process by its
 * default action, skipping the shutdown.
 */
export function untilSignal(): Promise<string> {
  return new Promise((done) => {
    process.once('SIGTERM', () => done('SIGTERM'));
    process.once('SIGINT', () => done('SIGINT'));
  });
}

/** Waits for `stopped` (untilSignal's), then closes `running` (finishing in-flight work); never throws. */
export async function closeOnSignal(
  running: { close(): Promise<void> },
  log: Logger,
  stopped: Promise<string>,
): Promise<void> {
  const signal = await stopped;
  log.info({ signal }, 'shutting down');
  await running.close().catch((err: unknown) => log.error({ err }, 'shutdown failed'));
}
