/**
 * What of a response the caller sees: a few harmless headers (never `set-cookie` or
 * `www-authenticate`, which can carry tokens, and `location` only on the same origin), and
 * the body as text when it is clean UTF-8 of a textual type, base64 otherwise.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Base } from './base-url.js';

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  body_encoding: 'utf8' | 'base64';
  /** Bytes beyond limits.maxOutputBytes were dropped. */
  body_truncated: boolean;
  redirects: number;
  timed_out: boolean;
  duration_ms: number;
}

/**
 * Response headers a caller may see. `set-cookie` and `www-authenticate` can carry
 * session tokens or the upstream's view of ours; `location` is filtered separately.
 */
const RESPONSE_HEADERS = [
  'cache-control',
  'content-encoding',
  'content-length',
  'content-type',
  'etag',
  'last-modified',
  'retry-after',
  'x-request-id',
] as const;

const TEXTUAL =
  /^(?:text\/[a-z0-9.+-]+|application\/(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|yaml|x-yaml|graphql|[a-z0-9.-]+\+(?:json|xml|yaml)))\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined || !TEXTUAL.test(contentType)) return false;
  const charset = CHARSET.exec(contentType)?.[1];
  return charset === undefined || UTF8_CHARSETS.has(charset.toLowerCase());
}

/** UTF-8 when the type is textual and the bytes decode cleanly; otherwise base64. */
export function encodeBody(
  body: Buffer,
  contentType: string | undefined,
  truncated: boolean,
): Pick<HttpResult, 'body' | 'body_encoding'> {
  if (body.byteLength === 0) return { body: '', body_encoding: 'utf8' };
  if (isTextual(contentType)) {
    try {
      // A cut body may end inside a character: `stream` drops that partial tail.
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body, {
        stream: truncated,
      });
      return { body: text, body_encoding: 'utf8' };
    } catch {
      // Not clean UTF-8: fall through to base64.
    }
  }
  return { body: body.toString('base64'), body_encoding: 'base64' };
}

/** The response headers the caller may see, for a response to the request at `current`. */
export function safeHeaders(
  base: Base,
  current: string,
  headers: IncomingHttpHeaders,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RESPONSE_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  const location = headers.location;
  if (typeof location === 'string') {
    try {
      if (new URL(location, base.origin + current).origin === base.origin) {
        out.location = location;
      }
    } catch {
      // Not a URL: not returned.
    }
  }
  return out;
}
