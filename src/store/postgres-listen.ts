/**
 * LISTEN on a dedicated connection (a pooled one cannot hold a LISTEN: the pool hands it
 * to other queries and may close it). When the connection is lost (a server restart, a
 * terminated backend) it reconnects with a growing delay, LISTENs again, and then calls
 * every handler with no payload: notifications sent while it was away are lost, so a
 * subscriber re-reads what it follows. The first connection's failure is the caller's.
 */
import { Client, type ClientConfig } from 'pg';
import { mapPgError } from './postgres-errors.js';
import { channelName } from './signing-keys.js';
import type { NotificationHandler } from './store.js';

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;

export class PgListener {
  readonly #config: ClientConfig;
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(config: ClientConfig) {
    this.#config = { ...config, application_name: 'bastion-listen' };
  }

  async subscribe(channel: string, fn: NotificationHandler): Promise<() => Promise<void>> {
    const name = channelName(channel);
    const handlers = this.#handlers.get(name) ?? new Set<NotificationHandler>();
    const first = handlers.size === 0;
    handlers.add(fn);
    this.#handlers.set(name, handlers);
    try {
      const client = await this.#connected();
      if (first) await client.query(`LISTEN ${name}`); // checked identifier, not input
    } catch (err) {
      handlers.delete(fn);
      throw mapPgError(err);
    }
    return async () => {
      handlers.delete(fn);
      if (handlers.size === 0 && this.#client !== undefined) {
        await this.#client.query(`UNLISTEN ${name}`).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#handlers.clear();
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** The live connection, or one being made (with every channel listened to). */
  #connected(): Promise<Client> {
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Client> {
    const client = new Client(this.#config);
    // Without a listener an error on the idle connection would end the process.
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      for (const fn of this.#handlers.get(message.channel) ?? []) safely(fn, message.payload);
    });
    try {
      await client.connect();
      for (const name of this.#handlers.keys()) await client.query(`LISTEN ${name}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      throw mapPgError(new Error('Connection terminated'));
    }
    this.#client = client;
    return client;
  }

  #lost(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#reconnect(RETRY_FIRST_MS);
  }

  #reconnect(delayMs: number): void {
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#connected().then(
        () => {
          // What was sent while away is lost: every subscriber re-reads.
          for (const handlers of this.#handlers.values()) {
            for (const fn of handlers) safely(fn, undefined);
          }
        },
        () => this.#reconnect(Math.min(delayMs * 2, RETRY_MAX_MS)),
      );
    }, delayMs);
    this.#retry.unref();
  }
}

function safely(fn: NotificationHandler, payload: string | undefined): void {
  try {
    fn(payload);
  } catch {
    // A subscriber's failure is its own; the others still hear.
  }
}
