/**
 * Shutting down, once however often it is asked for: the listener stops taking connections,
 * running commands are killed and their requests finish with what they produced, then the
 * audit closes and the socket is removed. Meanwhile each reply ends its connection.
 */
import type { FastifyInstance } from 'fastify';
import type { BasculeAuditLog } from './audit.js';
import { removeSocket } from './listen.js';

/** Once `signal` is aborted, each reply ends its connection instead of idling in keep-alive. */
export function closeConnectionsWhenStopping(app: FastifyInstance, signal: AbortSignal): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (signal.aborted) void reply.header('connection', 'close');
    done(null, payload);
  });
}

export interface Stoppable {
  readonly app: FastifyInstance;
  readonly audit: BasculeAuditLog;
  /** Aborted to kill running commands. */
  readonly stopping: AbortController;
  /** The ledger's sweep timer. */
  readonly sweep: NodeJS.Timeout;
  readonly socket?: string | undefined;
}

/** The `close` of a running Bascule: every call gets the one shutdown. */
export function shutdownOnce({
  app,
  audit,
  stopping,
  sweep,
  socket,
}: Stoppable): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      clearInterval(sweep);
      const closed = app.close();
      // Running commands are killed; their requests finish with what they produced.
      stopping.abort();
      await closed;
      await audit.close();
      if (socket !== undefined) removeSocket(socket);
    })();
    return closing;
  };
}
