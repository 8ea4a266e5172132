/** The query string of an HTTP request, bounded. */
import { HttpTransportError } from './errors.js';

export const MAX_QUERY_LENGTH = 8192;

/** RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` percent-encoded, in upper-case hex. */
function strict(text: string): string {
  try {
    return encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  } catch {
    // A lone surrogate has no UTF-8.
    throw new HttpTransportError('pathInvalid');
  }
}

/**
 * The query as `?a=b&…` ('' when there is none); throws `http_path_invalid`. `rfc3986`
 * encodes it as SigV4 canonicalizes it (a space is `%20`, never `+`, which is a plus), so
 * that the query sent is the query signed, however the server reads it.
 */
export function queryString(
  query: Readonly<Record<string, string>> | undefined,
  rfc3986 = false,
): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw new HttpTransportError('pathInvalid');
    params.append(key, value);
    pairs.push(`${strict(key)}=${strict(value)}`);
  }
  const text = rfc3986 ? pairs.join('&') : params.toString();
  if (text.length > MAX_QUERY_LENGTH) throw new HttpTransportError('pathInvalid');
  return text === '' ? '' : `?${text}`;
}
