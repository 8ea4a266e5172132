/**
 * The HTTP transport: one request to a target's base URL with a bearer token, for the
 * `http` connector. It exists so that the broker, not the caller, decides where a token
 * goes: the URL stays under the target's origin and base path (dot segments, encoded or
 * not, and backslashes are refused), the host is resolved once and the connection pinned
 * to that answer (no DNS rebinding), link-local and cloud-metadata addresses are refused,
 * redirects are followed only within the base, and only a few response headers come back
 * (never `set-cookie` or `www-authenticate`, which can carry tokens).
 *
 * Built on node:http/https rather than fetch so that DNS and sockets are ours to control.
 * Errors are BastionErrors with fixed messages: neither the caller's input nor the
 * upstream's text is ever quoted.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import {
  request as plainRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as tlsRequest, type RequestOptions } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import type { Secret } from '../credentials/secret.js';
import { BastionError, InvalidArgumentError } from '../base/errors.js';
import { canonicalTarget, normalisePercent, targetKind } from '../governance/targets.js';
import type { ExecLimits } from './types.js';

// ---------------------------------------------------------------------------------------
// Errors

export const HttpErrorCodes = {
  pathInvalid: 'http_path_invalid',
  headerInvalid: 'http_header_invalid',
  headerForbidden: 'http_header_forbidden',
  bodyTooLarge: 'http_body_too_large',
  destinationRefused: 'http_destination_refused',
  redirectRefused: 'http_redirect_refused',
  connectFailed: 'http_connect_failed',
  dnsFailed: 'http_dns_failed',
} as const;

export type HttpErrorKind = keyof typeof HttpErrorCodes;

/** Every refusal and failure of the HTTP transport. */
export class HttpTransportError extends BastionError {
  constructor(kind: HttpErrorKind) {
    super(HttpErrorCodes[kind]);
  }
}

// ---------------------------------------------------------------------------------------
// API

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HttpRequestOptions {
  /** The canonical target URL (targets.ts), e.g. `https://api.internal.test/v1`. */
  readonly base: string;
  readonly method: string;
  /** Relative to the base path; starts with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>> | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | undefined;
  /** The access token; read only when the header is written. */
  readonly bearer?: Secret | undefined;
  /** maxOutputBytes: response body bytes kept; timeoutMs: wall time for the whole exchange. */
  readonly limits: ExecLimits;
  /** Default 1 MiB. */
  readonly maxRequestBytes?: number | undefined;
  /** Injectable resolver (tests); default dns.lookup. Called once per request. */
  readonly lookup?: LookupFunction | undefined;
  /** Default 3. */
  readonly allowedRedirects?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** An extra CA certificate (PEM) trusted besides the system roots, for tests. */
  readonly ca?: string | undefined;
  /**
   * A second opinion on each redirect's method and path (relative to the base), so that a
   * target cannot send the token somewhere the caller's policy would not have allowed.
   */
  readonly allowPath?: ((method: string, path: string) => boolean) | undefined;
}

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

export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
export const DEFAULT_ALLOWED_REDIRECTS = 3;

// ---------------------------------------------------------------------------------------
// Paths

export const MAX_PATH_LENGTH = 2048;
const MAX_QUERY_LENGTH = 8192;
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
  if (CONTROL_OR_BACKSLASH.test(text)) throw new HttpTransportError('pathInvalid');
  const segments = text.slice(1).split('/');
  segments.forEach((segment, index) => {
    const bare = segment.split(';')[0];
    if (bare === '.' || bare === '..') throw new HttpTransportError('pathInvalid');
    if (segment === '' && index !== segments.length - 1) {
      throw new HttpTransportError('pathInvalid');
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
    throw new HttpTransportError('pathInvalid');
  }
  const out = normalisePercent(path, { refuseOverlong: true });
  if (out === undefined) throw new HttpTransportError('pathInvalid');
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

function queryString(query: Readonly<Record<string, string>> | undefined): string {
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

// ---------------------------------------------------------------------------------------
// Headers

export const MAX_REQUEST_HEADERS = 32;
const MAX_HEADER_NAME = 128;
const MAX_HEADER_VALUE = 8192;
const MAX_HEADER_BYTES = 16 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CRLF_NUL = /[\r\n\0]/;
// What node:http itself accepts in a value (HTAB, visible ASCII, obs-text).
const VALUE_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Hop-by-hop and framing headers (the broker frames the message), `host` (the target
 * decides it), `expect` (would stall the request on 100-continue) and `authorization`
 * (set only by the broker, from the credential).
 */
const FORBIDDEN_HEADERS = new Set([
  'authorization',
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Checks a caller's request headers and returns them with lower-case names. Throws
 * `http_header_invalid` (bad name or value, CR/LF/NUL, duplicates, too many or too large)
 * or `http_header_forbidden`. Cookies are the caller's business and pass.
 */
export function checkRequestHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  if (headers === undefined) return {};
  const entries = Object.entries(headers);
  if (entries.length > MAX_REQUEST_HEADERS) throw new HttpTransportError('headerInvalid');
  const seen = new Set<string>();
  let bytes = 0;
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || CRLF_NUL.test(name) || CRLF_NUL.test(value)) {
      throw new HttpTransportError('headerInvalid');
    }
    if (
      !TOKEN.test(name) ||
      name.length > MAX_HEADER_NAME ||
      value.length > MAX_HEADER_VALUE ||
      !VALUE_CHARS.test(value)
    ) {
      throw new HttpTransportError('headerInvalid');
    }
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('proxy-')) {
      throw new HttpTransportError('headerForbidden');
    }
    if (seen.has(lower)) throw new HttpTransportError('headerInvalid');
    seen.add(lower);
    bytes += name.length + value.length + 4;
  }
  if (bytes > MAX_HEADER_BYTES) throw new HttpTransportError('headerInvalid');
  // fromEntries defines own properties, so a `__proto__` header stays a header.
  return Object.fromEntries(entries.map(([name, value]) => [name.toLowerCase(), value]));
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

// ---------------------------------------------------------------------------------------
// Destinations

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

interface Pinned {
  readonly address: string;
  readonly family: 4 | 6;
}

const defaultLookup: LookupFunction = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

/** Resolves `hostname` once, refusing it if any answer is a refused destination. */
function resolveOnce(
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
function pinnedLookup(pinned: Pinned): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ ...pinned }]);
    else callback(null, pinned.address, pinned.family);
  };
}

// ---------------------------------------------------------------------------------------
// Base URL

interface Base {
  readonly scheme: 'http' | 'https';
  /** Bare host: a name, or an address without brackets. */
  readonly hostname: string;
  readonly port: number;
  readonly origin: string;
  /** '' or '/v1': no trailing slash. */
  readonly basePath: string;
  readonly ipLiteral: boolean;
}

function parseBase(base: string): Base {
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

// ---------------------------------------------------------------------------------------
// One exchange

interface Hop {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly truncated: boolean;
  /** The deadline or the caller's signal cut the body short. */
  readonly interrupted: boolean;
}

interface HopRequest {
  readonly base: Base;
  readonly pinned: Pinned | undefined;
  readonly method: string;
  readonly requestPath: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
  readonly bearer: Secret | undefined;
  readonly maxBytes: number;
  readonly signal: AbortSignal;
  readonly ca: string | undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The one copy of the token outside its Secret: built as the request is made, held only
 * by that request (no keep-alive agent keeps it afterwards). A token that is not visible
 * ASCII would let a faulty issuer inject headers; it is refused.
 */
function bearerHeader(bearer: Secret): string {
  return bearer.use((bytes) => {
    if (bytes.byteLength === 0 || bytes.byteLength > MAX_HEADER_VALUE) {
      throw new HttpTransportError('headerInvalid');
    }
    for (const byte of bytes) {
      if (byte < 0x21 || byte > 0x7e) throw new HttpTransportError('headerInvalid');
    }
    return `Bearer ${bytes.toString('latin1')}`;
  });
}

function exchange(hop: HopRequest): Promise<Hop> {
  return new Promise<Hop>((resolve, reject) => {
    const { base, signal } = hop;
    if (signal.aborted) return reject(new HttpTransportError('connectFailed'));
    const headers: OutgoingHttpHeaders = { ...hop.headers };
    if (hop.body !== undefined) headers['content-length'] = String(hop.body.byteLength);
    const options: RequestOptions = {
      // The name, not the pinned address: Host and TLS (SNI, certificate name) see the
      // name, while the pinned lookup decides where the socket goes.
      host: base.hostname,
      port: base.port,
      method: hop.method,
      path: hop.requestPath,
      headers,
      // No keep-alive: a pooled socket would keep the request, and its header, reachable.
      agent: false,
      ...(hop.pinned !== undefined ? { lookup: pinnedLookup(hop.pinned) } : {}),
      ...(base.scheme === 'https'
        ? {
            rejectUnauthorized: true,
            ...(base.ipLiteral ? {} : { servername: base.hostname }),
            ...(hop.ca !== undefined ? { ca: [...rootCertificates, hop.ca] } : {}),
          }
        : {}),
    };

    let settled = false;
    let req: ClientRequest | undefined;
    let response: IncomingMessage | undefined;
    const chunks: Buffer[] = [];
    let kept = 0;
    const cleanup = (): void => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (): void => {
      if (settled) return;
      cleanup();
      req?.destroy();
      reject(new HttpTransportError('connectFailed'));
    };
    const finish = (truncated: boolean, interrupted: boolean): void => {
      if (settled || response === undefined) return;
      cleanup();
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.concat(chunks, kept),
        truncated,
        interrupted,
      });
    };
    function onAbort(): void {
      // A response already under way is returned as far as it got; otherwise it failed.
      if (response !== undefined) {
        finish(false, true);
        req?.destroy();
      } else {
        fail();
      }
    }
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      req = (base.scheme === 'https' ? tlsRequest : plainRequest)(options);
    } catch {
      fail();
      return;
    }
    // Listening first: destroying the request below must not leave an unhandled error.
    req.on('error', fail);
    try {
      if (hop.bearer !== undefined) req.setHeader('authorization', bearerHeader(hop.bearer));
    } catch (err) {
      cleanup();
      req.destroy();
      reject(err instanceof BastionError ? err : new HttpTransportError('connectFailed'));
      return;
    }
    req.on('response', (res) => {
      response = res;
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status) && res.headers.location !== undefined) {
        // A redirect's body is never needed: followed or refused, it is dropped.
        finish(false, false);
        req?.destroy();
        return;
      }
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = hop.maxBytes - kept;
        if (chunk.byteLength > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room));
          kept += Math.max(room, 0);
          // Stop reading: the rest is not wanted and may be endless.
          finish(true, false);
          req?.destroy();
          return;
        }
        chunks.push(chunk);
        kept += chunk.byteLength;
      });
      res.on('end', () => finish(false, false));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail();
      });
    });
    req.end(hop.body);
  });
}

// ---------------------------------------------------------------------------------------
// Result

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
function encodeBody(
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

function safeHeaders(
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

// ---------------------------------------------------------------------------------------
// The request

function checkLimits(options: HttpRequestOptions): {
  maxRequestBytes: number;
  allowedRedirects: number;
} {
  const { maxOutputBytes, timeoutMs } = options.limits;
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new InvalidArgumentError('limits');
  }
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError('limits');
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes < 0) {
    throw new InvalidArgumentError('maxRequestBytes');
  }
  const allowedRedirects = options.allowedRedirects ?? DEFAULT_ALLOWED_REDIRECTS;
  if (!Number.isSafeInteger(allowedRedirects) || allowedRedirects < 0 || allowedRedirects > 20) {
    throw new InvalidArgumentError('allowedRedirects');
  }
  return { maxRequestBytes, allowedRedirects };
}

/**
 * Sends one request to `base` + `path` (+ `query`) and returns the response, bounded in
 * size and time. Everything the caller controls is checked before DNS is consulted.
 */
export async function httpRequest(options: HttpRequestOptions): Promise<HttpResult> {
  const started = performance.now();
  const { maxRequestBytes, allowedRedirects } = checkLimits(options);
  const base = parseBase(options.base);
  if (!(HTTP_METHODS as readonly string[]).includes(options.method)) {
    throw new InvalidArgumentError('method');
  }
  const relative = normaliseRequestPath(options.path);
  const query = queryString(options.query);
  const headers = checkRequestHeaders(options.headers);
  let body: Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body !== 'string') throw new InvalidArgumentError('body');
    if (Buffer.byteLength(options.body) > maxRequestBytes) {
      throw new HttpTransportError('bodyTooLarge');
    }
    body = Buffer.from(options.body);
  }

  // One signal for the deadline and the caller's cancellation.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.limits.timeoutMs);
  const onCallerAbort = (): void => controller.abort();
  if (options.signal?.aborted === true) controller.abort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  let redirects = 0;
  let method = options.method;
  let requestPath = base.basePath + relative + query;
  const timedOutResult = (hop?: Hop): HttpResult => ({
    status: hop?.status ?? 0,
    headers: hop === undefined ? {} : safeHeaders(base, requestPath, hop.headers),
    ...(hop === undefined
      ? { body: '', body_encoding: 'utf8' as const }
      : encodeBody(hop.body, hop.headers['content-type'], true)),
    body_truncated: false,
    redirects,
    timed_out: true,
    duration_ms: Math.round(performance.now() - started),
  });
  try {
    // Resolved once: every hop (redirects stay on this origin) connects to this address.
    const pinned = base.ipLiteral
      ? undefined
      : await resolveOnce(options.lookup ?? defaultLookup, base.hostname, controller.signal);
    for (;;) {
      const hop = await exchange({
        base,
        pinned,
        method,
        requestPath,
        headers,
        body,
        bearer: options.bearer,
        maxBytes: options.limits.maxOutputBytes,
        signal: controller.signal,
        ca: options.ca,
      });
      if (hop.interrupted) {
        if (timedOut) return timedOutResult(hop);
        throw new HttpTransportError('connectFailed');
      }
      const location = hop.headers.location;
      if (REDIRECT_STATUSES.has(hop.status) && typeof location === 'string') {
        if (redirects >= allowedRedirects) throw new HttpTransportError('redirectRefused');
        if (hop.status === 303) {
          // See Other: fetch the result with GET, without the request's body.
          method = method === 'HEAD' ? 'HEAD' : 'GET';
          body = undefined;
          delete headers['content-type'];
        } else if (method !== 'GET' && method !== 'HEAD') {
          throw new HttpTransportError('redirectRefused');
        }
        const next = redirectTarget(base, requestPath, location);
        if (options.allowPath !== undefined && !options.allowPath(method, next.relative)) {
          throw new HttpTransportError('redirectRefused');
        }
        redirects += 1;
        requestPath = next.requestPath;
        continue;
      }
      return {
        status: hop.status,
        headers: safeHeaders(base, requestPath, hop.headers),
        ...encodeBody(hop.body, hop.headers['content-type'], hop.truncated),
        body_truncated: hop.truncated,
        redirects,
        timed_out: false,
        duration_ms: Math.round(performance.now() - started),
      };
    }
  } catch (err) {
    // The deadline, not the failure it caused (a reset socket, a DNS wait cut short).
    if (timedOut && !(err instanceof HttpTransportError && isPolicyRefusal(err))) {
      return timedOutResult();
    }
    throw err;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function isPolicyRefusal(err: HttpTransportError): boolean {
  return err.code !== HttpErrorCodes.connectFailed && err.code !== HttpErrorCodes.dnsFailed;
}
