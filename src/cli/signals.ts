/** How a long-running command (serve, bascule, mcp) waits for its end: SIGTERM or SIGINT. */
import type { Logger } from '../base/logger.js';

/** Resolves with the signal's name at the first SIGTERM or SIGINT. */
export function untilSignal(): Promise<string> {
  return new Promise((done) => {
    process.once('SIGTERM', () => done('SIGTERM'));
    process.once('SIGINT', () => done('SIGINT'));
  });
}

/** Waits for a signal, then closes `running` (finishing in-flight work); never throws. */
export async function closeOnSignal(
  running: { close(): Promise<void> },
  log: Logger,
): Promise<void> {
  const signal = await untilSignal();
  log.info({ signal }, 'shutting down');
  await running.close().catch((err: unknown) => log.error({ err }, 'shutdown failed'));
}
