/** The query string of an HTTP request, bounded. */
import { HttpTransportError } from './errors.js';

export const MAX_QUERY_LENGTH = 8192;

/** The query as `?a=b&…` ('' when there is none); throws `http_path_invalid`. */
export function queryString(query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw new HttpTransportError('pathInvalid');
    params.append(key, value);
  }
  const text = params.toString();
  if (text.length > MAX_QUERY_LENGTH) throw new HttpTransportError('pathInvalid');
  return text === '' ? '' : `?${text}`;
}
