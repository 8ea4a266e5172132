/**
 * The WinRM transport of one invocation: the `send` the shell driver (shell-run.ts) runs
 * over, on one `node:http` Agent of its own (keep-alive, one socket at a time: WinRM's
 * Kerberos context and message encryption belong to the TCP connection), destroyed by
 * `close` on every path. `open` authenticates before the first envelope. A connection that
 * breaks (an aborted request cannot be taken back on HTTP/1.1; a refused or unsealed
 * reply) is never used again: a later envelope — the driver's Signal and Delete after a
 * timeout — goes over a new connection, authenticated afresh with the same ticket and its
 * AP-REP checked again, so no body ever travels without a context its peer proved. Every
 * connection goes to the one address the endpoint was pinned to before the first
 * (transports/destination.ts): the Agent never resolves the name, nor follows a rebinding.
 */
import { Agent } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import { BastionError } from '../../base/errors.js';
import {
  type ConnectFunction,
  defaultConnect,
  defaultLookup,
  type Pinned,
  pinAddress,
} from '../../transports/destination.js';
import { WinRmConnection, type ConnectionOptions } from './connection.js';

/** Resolver and TCP connect, injectable for tests (loopback only). */
export interface WinRmDestination {
  readonly lookup?: LookupFunction | undefined;
  readonly connect?: ConnectFunction | undefined;
}

const WINRM_DESTINATION_ERRORS = {
  dnsFailed: () => new BastionError('winrm_connect_failed'),
  refused: () => new BastionError('winrm_destination_refused'),
};

export class WinRmTransport {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  #pinned: Pinned | undefined;
  #connection: WinRmConnection | undefined;
  #closed = false;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly destination: WinRmDestination = {},
  ) {
    const connect = destination.connect ?? defaultConnect;
    const { port } = options.endpoint;
    // The Agent's sockets: to the pinned address only (none before it is pinned).
    this.#agent.createConnection = (_request, callback) => {
      try {
        if (this.#pinned === undefined) throw new BastionError('winrm_connect_failed');
        return connect({ ...this.#pinned, port });
      } catch {
        // Through the callback, so the request fails with its own catalog code.
        callback?.(new BastionError('winrm_connect_failed'), undefined as unknown as Duplex);
        return undefined;
      }
    };
  }

  /** Authenticates the first connection (mutual authentication included). */
  async open(signal: AbortSignal): Promise<void> {
    await this.#connect(signal);
  }

  /** A `SendEnvelope`: one envelope sealed, sent, and its sealed reply opened. */
  readonly send = async (envelope: string, signal: AbortSignal): Promise<string> => {
    const connection = await this.#connect(signal);
    return connection.send(envelope, signal);
  };

  async #connect(signal: AbortSignal): Promise<WinRmConnection> {
    const current = this.#connection;
    if (current !== undefined && !current.broken) return current;
    this.#connection = undefined;
    if (this.#closed) throw new BastionError('winrm_connection_lost');
    this.#pinned ??= await pinAddress(
      this.destination.lookup ?? defaultLookup,
      this.options.endpoint.address,
      signal,
      WINRM_DESTINATION_ERRORS,
    );
    const connection = await WinRmConnection.open(this.#agent, this.options, signal);
    if (this.#closed) {
      connection.close();
      throw new BastionError('winrm_connection_lost');
    }
    this.#connection = connection;
    return connection;
  }

  /** Ends every connection and zero-fills the context keys. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#connection?.close();
    this.#connection = undefined;
    this.#agent.destroy();
  }
}
