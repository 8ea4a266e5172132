/**
 * The target's base URL taken apart once: the origin every hop must stay on and the base
 * path every request path lives under. Only the canonical form is accepted, because that
 * is the form the caller's policy was compared with.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../base/errors.js';
import { canonicalTarget, targetKind } from '../../governance/targets.js';

export interface Base {
  readonly scheme: 'http' | 'https';
  /** Bare host: a name, or an address without brackets. */
  readonly hostname: string;
  readonly port: number;
  readonly origin: string;
  /** '' or '/v1': no trailing slash. */
  readonly basePath: string;
  readonly ipLiteral: boolean;
}

export function parseBase(base: string): Base {
  let canonical: string;
  try {
    canonical = canonicalTarget(base);
  } catch {
    throw new InvalidArgumentError('target');
  }
  // Only a canonical URL: policy compared that form, so it is the one we connect to.
  if (canonical !== base || targetKind(base) !== 'url') throw new InvalidArgumentError('target');
  const url = new URL(base);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return {
    scheme,
    hostname,
    port: url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
    origin: url.origin,
    basePath: url.pathname === '/' ? '' : url.pathname,
    ipLiteral: isIP(hostname) !== 0,
  };
}
