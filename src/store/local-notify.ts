/**
 * Notifications within one process: the SQLite store's `notify`/`subscribe`. One broker
 * owns a SQLite trail, so there is no other replica to reach; a change made by another
 * process on the same file (`bastion keys rotate`) reaches the server by SIGHUP instead.
 * PostgreSQL's counterpart is postgres-listen.ts. Delivery is asynchronous, as a NOTIFY's
 * is, and a handler's throw stops no other handler.
 */
import { channelName, payloadText } from './signing-keys.js';
import type { NotificationHandler } from './store.js';

export class LocalNotifier {
  readonly #handlers = new Map<string, Set<NotificationHandler>>();

  notify(channel: string, payload: string): void {
    const handlers = this.#handlers.get(channelName(channel));
    const text = payloadText(payload);
    for (const fn of handlers ?? []) {
      queueMicrotask(() => {
        try {
          fn(text);
        } catch {
          // A subscriber's failure is its own; the others still hear.
        }
      });
    }
  }

  subscribe(channel: string, fn: NotificationHandler): () => Promise<void> {
    const name = channelName(channel);
    const handlers = this.#handlers.get(name) ?? new Set();
    handlers.add(fn);
    this.#handlers.set(name, handlers);
    return () => {
      handlers.delete(fn);
      return Promise.resolve();
    };
  }

  clear(): void {
    this.#handlers.clear();
  }
}
