/**
 * The redirect guard: a redirect is followed only a few times, only where the token may go
 * (same origin, under the base path, through the same path rules and the caller's policy)
 * and only for methods whose body cannot be replayed elsewhere.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Base } from './base-url.js';
import { HttpTransportError } from './errors.js';
import { normaliseRequestPath } from '../../governance/request-path.js';
import { MAX_QUERY_LENGTH } from './query.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The location to follow when the response is a redirect; undefined otherwise. */
export function redirectLocation(status: number, headers: IncomingHttpHeaders): string | undefined {
  const location = headers.location;
  return REDIRECT_STATUSES.has(status) && typeof location === 'string' ? location : undefined;
}

/** What the next hop sends; a followed redirect updates it. */
export interface HopState {
  method: string;
  requestPath: string;
  body: Buffer | undefined;
  readonly headers: Record<string, string>;
  redirects: number;
}

export interface RedirectRules {
  readonly allowedRedirects: number;
  /** The caller's policy on each redirect's method and path (relative to the base). */
  readonly allowPath?: ((method: string, path: string) => boolean) | undefined;
}

/**
 * Where a redirect may go: same origin, under the base path, through the same path rules.
 * Returns the path relative to the base and the request path; throws http_redirect_refused.
 */
function redirectTarget(
  base: Base,
  current: string,
  location: string,
): { relative: string; requestPath: string } {
  let url: URL;
  try {
    url = new URL(location, base.origin + current);
  } catch {
    throw new HttpTransportError('redirectRefused');
  }
  if (url.origin !== base.origin || url.username !== '' || url.password !== '') {
    throw new HttpTransportError('redirectRefused');
  }
  const pathname = url.pathname;
  if (base.basePath !== '' && !pathname.startsWith(`${base.basePath}/`)) {
    throw new HttpTransportError('redirectRefused');
  }
  let relative: string;
  try {
    relative = normaliseRequestPath(pathname.slice(base.basePath.length));
  } catch {
    throw new HttpTransportError('redirectRefused');
  }
  if (url.search.length > MAX_QUERY_LENGTH || !/^[\x21-\x7e]*$/.test(url.search)) {
    throw new HttpTransportError('redirectRefused');
  }
  return { relative, requestPath: base.basePath + relative + url.search };
}

/**
 * Follows the redirect of a response with `status` to `location` by updating `hop`, or
 * throws http_redirect_refused: too many redirects, a method other than GET or HEAD
 * redirected other than by 303, a location outside the base, or one the policy refuses.
 */
export function followRedirect(
  base: Base,
  hop: HopState,
  status: number,
  location: string,
  rules: RedirectRules,
): void {
  if (hop.redirects >= rules.allowedRedirects) throw new HttpTransportError('redirectRefused');
  if (status === 303) {
    // See Other: fetch the result with GET, without the request's body.
    hop.method = hop.method === 'HEAD' ? 'HEAD' : 'GET';
    hop.body = undefined;
    delete hop.headers['content-type'];
  } else if (hop.method !== 'GET' && hop.method !== 'HEAD') {
    throw new HttpTransportError('redirectRefused');
  }
  const next = redirectTarget(base, hop.requestPath, location);
  if (rules.allowPath !== undefined && !rules.allowPath(hop.method, next.relative)) {
    throw new HttpTransportError('redirectRefused');
  }
  hop.redirects += 1;
  hop.requestPath = next.requestPath;
}
