/**
 * Where a transport may connect, for every transport that reaches a target by name (HTTP,
 * SSH, WinRM). The name is resolved once and refused if any answer is a link-local,
 * cloud-metadata or unspecified address (governance/refused-hosts.ts); the connection then
 * goes to that one answer, opened by an injectable connect function that is only ever
 * given an address. So a credential cannot reach the metadata service by way of DNS, nor
 * be moved elsewhere by a second, rebound answer, and tests can refuse any connection off
 * loopback. Each transport passes the errors it raises, from its own catalog codes.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { isRefusedAddress } from '../governance/refused-hosts.js';

/** The one address every connection goes to. */
export interface Pinned {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Opens a TCP connection to an address already checked; never a name. */
export type ConnectFunction = (to: {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}) => Socket;

/** The errors a transport raises: the name did not resolve; an answer is refused. */
export interface DestinationErrors {
  dnsFailed(): Error;
  refused(): Error;
}

export const defaultConnect: ConnectFunction = ({ address, family, port }) =>
  netConnect({ host: address, family, port });

export const defaultLookup: LookupFunction = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

/**
 * True when `address` is an IP address that may be connected to: not a refused one, or else
 * exactly `allowedLiteral` (the target's own literal, which an accord named exactly). Not an
 * address at all may not (fail closed).
 */
export function mayConnect(address: string, allowedLiteral: string | undefined): boolean {
  return isIP(address) !== 0 && (!isRefusedAddress(address) || address === allowedLiteral);
}

/**
 * Resolves `hostname` once, refusing it if any answer is a refused address: a DNS answer
 * is never excused, whatever the accord says.
 */
export function resolveOnce(
  lookup: LookupFunction,
  hostname: string,
  signal: AbortSignal,
  errors: DestinationErrors,
): Promise<Pinned> {
  return new Promise<Pinned>((resolve, reject) => {
    if (signal.aborted) return reject(errors.dnsFailed());
    const onAbort = (): void => reject(errors.dnsFailed());
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (err: NodeJS.ErrnoException | null, answer: string | LookupAddress[]): void => {
      signal.removeEventListener('abort', onAbort);
      if (err !== null) return reject(errors.dnsFailed());
      // A lookup is injectable: do not trust the shape of its answer.
      const addresses: unknown[] =
        typeof answer === 'string'
          ? [answer]
          : Array.isArray(answer)
            ? answer.map((a: unknown) => (a as { address?: unknown } | null)?.address)
            : [];
      if (addresses.length === 0 || !addresses.every((a) => typeof a === 'string' && isIP(a))) {
        return reject(errors.dnsFailed());
      }
      if (!(addresses as string[]).every((address) => mayConnect(address, undefined))) {
        return reject(errors.refused());
      }
      const address = addresses[0] as string;
      resolve({ address, family: isIP(address) === 6 ? 6 : 4 });
    };
    try {
      const options: LookupOptions = { all: true };
      lookup(hostname, options, done);
    } catch {
      signal.removeEventListener('abort', onAbort);
      reject(errors.dnsFailed());
    }
  });
}

/**
 * Where a transport given an endpoint address connects: an IP literal as is (an operator's
 * target map or an accord named it exactly), a name resolved once by `resolveOnce`.
 */
export function pinAddress(
  lookup: LookupFunction,
  address: string,
  signal: AbortSignal,
  errors: DestinationErrors,
): Promise<Pinned> {
  const family = isIP(address);
  if (family !== 0) return Promise.resolve({ address, family: family === 6 ? 6 : 4 });
  return resolveOnce(lookup, address, signal, errors);
}
