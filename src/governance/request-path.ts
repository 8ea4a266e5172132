/**
 * The path of an HTTP request, checked and put in canonical form, beside the path policy
 * (path-policy.ts) that matches it: the path an accord's policy matches is the path that is
 * sent, and it cannot climb out of the target's base path (dot segments, encoded or not,
 * backslashes, collapsed slashes). The connector reads an operation's path through here,
 * and the transport every redirect's.
 */
import { BastionError } from '../base/errors.js';
import { normalisePercent } from './targets.js';

export const MAX_PATH_LENGTH = 2048;

/** A path that is not one, or that would leave the target's base path: http_path_invalid. */
export class RequestPathError extends BastionError {
  constructor() {
    super('http_path_invalid');
  }
}
// RFC 3986 pchar plus '/': no spaces, no '?' or '#', no backslash, nothing outside ASCII.
const PATH_CHARS = /^[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f\\]/;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;

function decodeEscapes(text: string): string {
  return text.replace(ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Refuses a decoded path that a server could read as leaving its place: control
 * characters or backslashes, `.` or `..` segments (also `..;param`, which Tomcat reads as
 * `..`), and empty segments (`//admin`, which some servers collapse) except a trailing one.
 */
function checkDecodedPath(text: string): void {
  if (CONTROL_OR_BACKSLASH.test(text)) throw new RequestPathError();
  const segments = text.slice(1).split('/');
  segments.forEach((segment, index) => {
    const bare = segment.split(';')[0];
    if (bare === '.' || bare === '..') throw new RequestPathError();
    if (segment === '' && index !== segments.length - 1) {
      throw new RequestPathError();
    }
  });
}

/**
 * The canonical form of a request path (relative to the target's base path): percent-
 * escapes in upper case, unreserved characters decoded (RFC 3986 §6.2.2), so that the
 * path an accord's policy matches is the path that is sent. Throws `http_path_invalid`.
 * The checks run on the path decoded once, twice and three times, so `%2e%2e`, `%252e%252e`
 * and `%2F..%2F` are refused like `..`.
 */
export function normaliseRequestPath(path: unknown): string {
  if (
    typeof path !== 'string' ||
    !path.startsWith('/') ||
    path.length > MAX_PATH_LENGTH ||
    !PATH_CHARS.test(path)
  ) {
    throw new RequestPathError();
  }
  const out = normalisePercent(path, { refuseOverlong: true });
  if (out === undefined) throw new RequestPathError();
  let decoded = out;
  for (let round = 0; round < 3; round += 1) {
    checkDecodedPath(decoded);
    const next = decodeEscapes(decoded);
    if (next === decoded) break;
    decoded = next;
  }
  checkDecodedPath(decoded);
  return out;
}
