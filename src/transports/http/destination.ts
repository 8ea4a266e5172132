/**
 * Where an HTTP request may connect: the target's name is resolved once, refused if any
 * answer is a link-local or cloud-metadata address, and the socket is pinned to that
 * answer, so that a token cannot be sent to the metadata service by way of DNS, nor moved
 * elsewhere by a second, rebound answer.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { HttpTransportError } from './errors.js';

/**
 * Addresses a token must never reach by way of DNS: link-local (cloud metadata lives at
 * 169.254.169.254), the AWS IPv6 and Alibaba metadata addresses, and the "this host"
 * ranges that Linux connects to loopback. IPv4-mapped and NAT64 forms are covered too.
 * Loopback and private ranges are allowed: targets live there.
 */
const REFUSED_DESTINATIONS = (() => {
  const list = new BlockList();
  for (const prefix of ['', '::ffff:', '64:ff9b::']) {
    const family = prefix === '' ? 'ipv4' : 'ipv6';
    const extra = prefix === '' ? 0 : 96;
    list.addSubnet(`${prefix}169.254.0.0`, 16 + extra, family);
    list.addSubnet(`${prefix}0.0.0.0`, 8 + extra, family);
    list.addAddress(`${prefix}100.100.100.200`, family);
  }
  list.addSubnet('fe80::', 10, 'ipv6');
  list.addAddress('fd00:ec2::254', 'ipv6');
  list.addAddress('::', 'ipv6');
  return list;
})();

export function isRefusedDestination(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return REFUSED_DESTINATIONS.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The one address every connection of a request goes to. */
export interface Pinned {
  readonly address: string;
  readonly family: 4 | 6;
}

export const defaultLookup: LookupFunction = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

/** Resolves `hostname` once, refusing it if any answer is a refused destination. */
export function resolveOnce(
  lookup: LookupFunction,
  hostname: string,
  signal: AbortSignal,
): Promise<Pinned> {
  return new Promise<Pinned>((resolve, reject) => {
    if (signal.aborted) return reject(new HttpTransportError('dnsFailed'));
    const onAbort = (): void => reject(new HttpTransportError('dnsFailed'));
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (err: NodeJS.ErrnoException | null, answer: string | LookupAddress[]): void => {
      signal.removeEventListener('abort', onAbort);
      if (err !== null) return reject(new HttpTransportError('dnsFailed'));
      // A lookup is injectable: do not trust the shape of its answer.
      const addresses: unknown[] =
        typeof answer === 'string'
          ? [answer]
          : Array.isArray(answer)
            ? answer.map((a: unknown) => (a as { address?: unknown } | null)?.address)
            : [];
      if (addresses.length === 0 || !addresses.every((a) => typeof a === 'string' && isIP(a))) {
        return reject(new HttpTransportError('dnsFailed'));
      }
      if ((addresses as string[]).some(isRefusedDestination)) {
        return reject(new HttpTransportError('destinationRefused'));
      }
      const address = addresses[0] as string;
      resolve({ address, family: isIP(address) === 6 ? 6 : 4 });
    };
    try {
      const options: LookupOptions = { all: true };
      lookup(hostname, options, done);
    } catch {
      signal.removeEventListener('abort', onAbort);
      reject(new HttpTransportError('dnsFailed'));
    }
  });
}

/** A lookup that always answers the pinned address: the socket cannot be rebound. */
export function pinnedLookup(pinned: Pinned): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ ...pinned }]);
    else callback(null, pinned.address, pinned.family);
  };
}
