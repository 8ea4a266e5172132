/**
 * Whether a host (a name, an IPv4 or IPv6 literal, bracketed or not) is this machine's
 * loopback: where plain HTTP, a bearer token or an http JWKS URL cannot be seen on a wire.
 */
import { isIP } from 'node:net';

export function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
