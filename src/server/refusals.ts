/**
 * Refusals of unauthenticated requests, counted rather than recorded one by one: a request
 * whose proof fails, whose key no accord names, or whose client address is over its limit
 * writes nothing durable and no line of its own. The counts are kept (metrics) and logged
 * as one aggregated line per minute when there were any, so a flood of fresh keys can
 * neither fill the audit trail nor the log.
 */
import type { Logger } from '../base/logger.js';

export type RefusalKind = 'unknown_principal' | 'authentication_failed' | 'address_limited';

const FLUSH_MS = 60_000;

export class RefusalCounter {
  /** Since the broker started. */
  readonly totals: Record<RefusalKind, number> = {
    unknown_principal: 0,
    authentication_failed: 0,
    address_limited: 0,
  };
  #window: Partial<Record<RefusalKind, number>> = {};
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly log: Logger) {
    this.#timer = setInterval(() => this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  note(kind: RefusalKind): void {
    this.totals[kind] += 1;
    this.#window[kind] = (this.#window[kind] ?? 0) + 1;
  }

  /** Logs the last window's counts, if any, as one line. */
  flush(): void {
    if (Object.keys(this.#window).length === 0) return;
    this.log.warn(
      { refused: this.#window, window_seconds: FLUSH_MS / 1000 },
      'unauthenticated requests refused',
    );
    this.#window = {};
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
