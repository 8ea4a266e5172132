/**
 * SPIFFE IDs (`spiffe://trust-domain/path`), read strictly as the SPIFFE ID standard
 * spells them, so that a configured identity or audience and one the agent replies with
 * compare as plain strings: a lowercase trust domain, path segments of letters, digits,
 * `.`, `-` and `_` (never empty, `.` or `..`), no query, fragment, port or user.
 */

const SCHEME = 'spiffe://';
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_LENGTH = 2048;

export function isSpiffeId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_LENGTH || !value.startsWith(SCHEME)) {
    return false;
  }
  const rest = value.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  if (!TRUST_DOMAIN.test(slash === -1 ? rest : rest.slice(0, slash))) return false;
  if (slash === -1) return true;
  return rest
    .slice(slash + 1)
    .split('/')
    .every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/** An audience a JWT-SVID may name: a SPIFFE ID, or an absolute http(s) URL without a fragment. */
export function isAudience(value: unknown): value is string {
  if (isSpiffeId(value)) return true;
  if (typeof value !== 'string' || value.length > MAX_LENGTH || !/^[\x21-\x7e]+$/.test(value)) {
    return false;
  }
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.username === '' &&
      url.password === '' &&
      !value.includes('#')
    );
  } catch {
    return false;
  }
}
