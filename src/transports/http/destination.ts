/**
 * Where an HTTP request may connect: the shared destination rules (../destination.ts),
 * raising the HTTP transport's errors. Every connection of a request goes to the one
 * answer its target's name resolved to, opened by an injectable connect function.
 */
import type { LookupFunction } from 'node:net';
import { type Pinned, resolveOnce as resolvePinned } from '../destination.js';
import { HttpTransportError } from './errors.js';

export {
  type ConnectFunction,
  defaultConnect,
  defaultLookup,
  mayConnect,
  type Pinned,
} from '../destination.js';

const HTTP_ERRORS = {
  dnsFailed: () => new HttpTransportError('dnsFailed'),
  refused: () => new HttpTransportError('destinationRefused'),
};

/**
 * Resolves `hostname` once, refusing it if any answer is a refused address: a DNS answer
 * is never excused, whatever the accord says.
 */
export function resolveOnce(
  lookup: LookupFunction,
  hostname: string,
  signal: AbortSignal,
): Promise<Pinned> {
  return resolvePinned(lookup, hostname, signal, HTTP_ERRORS);
}
