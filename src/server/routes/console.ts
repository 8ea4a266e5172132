/**
 * `/console/`: the web console's files (console/, built beside this code by
 * scripts/build-console.sh), read once at start and served with a strict Content-Security-
 * Policy. Public: the files hold no data; the console fetches everything from the API with
 * the person's own DPoP proofs, so serving it needs no session and stores nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BastionError } from '../../base/errors.js';

/** Own files only, no inline script or style, no plugins, no framing, no <base>. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; " +
  "base-uri 'none'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where the build puts the console: <dist or build/src>/console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** The files of `dir` the console serves (known types, flat); none when it was not built. */
export function readConsoleAssets(dir: string): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) assets.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  return assets;
}

function send(reply: FastifyReply, asset: Asset | undefined): FastifyReply {
  if (asset === undefined) throw new BastionError('not_found');
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', 'no-cache')
    .type(asset.type)
    .send(asset.body);
}

export function consoleRoutes(app: FastifyInstance, dir = CONSOLE_DIR): void {
  const assets = readConsoleAssets(dir);
  const hidden = { config: { auth: 'none' as const }, schema: { hide: true } };
  // The router takes /console for /console/ too; the page's relative URLs need the slash.
  app.get('/console/', hidden, (request, reply) =>
    request.url.split('?')[0]?.endsWith('/') === true
      ? send(reply, assets.get('index.html'))
      : reply.redirect('/console/', 308),
  );
  app.get<{ Params: { file: string } }>('/console/:file', hidden, (request, reply) =>
    send(reply, assets.get(request.params.file)),
  );
}
