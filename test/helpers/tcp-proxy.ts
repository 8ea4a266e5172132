/**
 * A TCP proxy on 127.0.0.1 in front of a peer, counting every connection that reaches it:
 * what a test needs to show that something was, or was not, called while the peer behind
 * it is down (a dead peer refuses connections, and so cannot count them itself). A
 * connection the peer refuses is closed at once, as the peer's own refusal would be felt.
 */
import { EventEmitter, once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted since start. */
  readonly connections: number;
  /** Emits `connection` for each one accepted. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Called with each chunk the client sends (what a wire tap sees), before it is forwarded. */
  readonly onClientData?: (chunk: Buffer) => void;
  /** Likewise with each chunk the peer sends back. */
  readonly onServerData?: (chunk: Buffer) => void;
}

export async function startTcpProxy(
  upstreamPort: number,
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const events = new EventEmitter();
  const open = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    connections += 1;
    events.emit('connection');
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      // Either side failing or ending ends both: the peer's refusal reaches the client.
      socket.once('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    if (options.onClientData !== undefined) client.on('data', options.onClientData);
    client.pipe(upstream);
    if (options.onServerData !== undefined) upstream.on('data', options.onServerData);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    events,
    close: async () => {
      for (const socket of open) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
