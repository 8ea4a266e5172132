/**
 * Where the runtime listens: a TCP host and port, or a Unix socket that is 0600 from the
 * moment it exists (a dead socket left by a crash is replaced; a live one, or anything that
 * is not a socket, stops the start), removed again on shutdown.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../base/errors.js';
import { listenFailed } from '../base/system-errors.js';
import type { BasculeOptions } from './options.js';

/** Clears a socket path left by a crash; refuses a live socket or anything else. */
async function prepareSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new ConfigError('--socket', 'exists and is not a socket');
  const alive = await new Promise<boolean>((done) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
  if (alive) throw new ConfigError('--socket', 'is in use by another process');
  unlinkSync(path);
}

/** Listens on a Unix socket that is 0600 from the moment it exists. */
async function listenOnSocket(app: FastifyInstance, path: string): Promise<void> {
  await prepareSocketPath(path);
  await app.ready();
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch {
    // Worker threads cannot change the umask; the chmod below still applies.
  }
  try {
    await app.listen({ path }).catch((err: unknown) => {
      throw listenFailed(path, undefined, err);
    });
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  chmodSync(path, 0o600);
}

/** Listens where the options say; the URL: `http://host:port` or `unix:/path`. */
export async function listenBascule(
  app: FastifyInstance,
  { socket, listen }: Pick<BasculeOptions, 'socket' | 'listen'>,
): Promise<string> {
  if (socket !== undefined) {
    await listenOnSocket(app, socket);
    return `unix:${socket}`;
  }
  if (listen !== undefined) {
    await app.listen({ host: listen.host, port: listen.port }).catch((err: unknown) => {
      throw listenFailed(listen.host, listen.port, err);
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : listen.port;
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    return `http://${host}:${port}`;
  }
  throw new ConfigError('--listen/--socket', 'exactly one is required');
}

/** Removes the socket at `path` if the server left it. */
export function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already removed by the server.
  }
}
