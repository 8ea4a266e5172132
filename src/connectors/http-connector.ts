/**
 * The `http` connector: one HTTP request to the target (a base URL) with a short-lived
 * OAuth access token (credential `oauth`) as the bearer, so that a caller can use an API
 * without ever holding its token. Everything the caller sends is checked before a
 * credential exists: the operation's shape, the path and header rules of the transport,
 * the capability (GET/HEAD read, the rest write) and the accord's path policy.
 *
 * Path policy (`paths: {allow, deny}` in an accord), matched by `pathAllowed`:
 * - a pattern is matched against `METHOD /path`, the method in capitals and the path
 *   relative to the target's base path, in canonical form (percent-escapes in upper case,
 *   unreserved characters decoded), without the query; a pattern that starts with `/`
 *   is matched against the path alone, for any method. `GET /status*`, `* /admin*`,
 *   `/health` are all valid patterns;
 * - deny wins, and is matched generously: ignoring case; against the path and the path
 *   with its ASCII percent-escapes decoded (`/api%2Fadmin` is `/api/admin` to some
 *   servers), each with and without a trailing `/`; and a trailing `*` or `/*` also
 *   matches nothing, so `* /admin*` and `* /admin/*` deny `/admin` itself although `*`
 *   is one or more characters; a `GET` deny pattern also denies `HEAD`;
 * - allow is matched exactly: `GET /status*` does not allow `GET /status` nor `HEAD
 *   /status*` (list them); an empty allow list allows nothing; no `paths` allows any path.
 * Redirects are held to the same policy.
 */
import type { LookupFunction } from 'node:net';
import type { AcContext } from '../credentials/types.js';
import { BastionError, InvalidArgumentError } from '../base/errors.js';
import type { Capability } from '../governance/capabilities.js';
import { globMatches } from '../governance/patterns.js';
import { HttpTransportError } from '../transports/http/errors.js';
import { checkRequestHeaders } from '../transports/http/request-headers.js';
import { MAX_PATH_LENGTH, normaliseRequestPath } from '../transports/http/request-path.js';
import {
  DEFAULT_MAX_REQUEST_BYTES,
  HTTP_METHODS,
  httpRequest,
  type HttpMethod,
} from '../transports/http/request.js';
import type { HttpResult } from '../transports/http/response.js';
import type { Connector, RunContext } from './connector.js';
import { InvocationDeniedError } from './errors.js';

export interface HttpOperation {
  readonly method: HttpMethod;
  /** Canonical path relative to the target's base path (see normaliseRequestPath). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpConnectorOptions {
  /** DNS resolver, injectable for tests; default dns.lookup. */
  readonly lookup?: LookupFunction | undefined;
  /** Largest request body, in bytes; default 1 MiB. */
  readonly maxRequestBytes?: number | undefined;
  /** An extra CA certificate (PEM) trusted besides the system roots. */
  readonly ca?: string | undefined;
}

/** The backend's credential is not a bearer token for this target (I3): nothing is sent. */
export class HttpCredentialError extends BastionError {
  constructor() {
    super('http_credential_invalid');
  }
}

const MAX_QUERY_PARAMS = 64;
const MAX_QUERY_KEY = 256;
const MAX_QUERY_VALUE = 2048;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function stringRecord(
  value: unknown,
  what: string,
  limits: { count: number; key: number; value: number },
): Record<string, string> {
  if (!isPlainObject(value)) throw new InvalidArgumentError(what);
  const entries = Object.entries(value);
  if (entries.length > limits.count) throw new InvalidArgumentError(what);
  for (const [key, item] of entries) {
    if (
      key === '' ||
      key.length > limits.key ||
      typeof item !== 'string' ||
      item.length > limits.value
    ) {
      throw new InvalidArgumentError(what);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const ASCII_ESCAPE = /%([2-7][0-9A-Fa-f])/g;

function matchesAny(patterns: readonly string[], subjects: readonly string[]): boolean {
  return patterns.some((pattern) => subjects.some((subject) => globMatches(pattern, subject)));
}

/** A deny pattern and, when it ends in `*` or `/*`, the prefix it would also mean to cover. */
function denyVariants(pattern: string): string[] {
  const variants = [pattern];
  if (pattern.endsWith('*')) {
    const bare = pattern.replace(/\*+$/, '');
    if (bare !== '' && !bare.endsWith(' ')) variants.push(bare);
    if (bare.endsWith('/') && bare.length > 1) variants.push(bare.slice(0, -1));
  }
  return variants.filter((v) => v !== '' && !v.endsWith(' '));
}

/**
 * Whether the accord's path policy lets `method` reach `path` (canonical, relative to the
 * base). See the header comment for the rule. An unreadable pattern fails closed: it
 * denies as a deny pattern and allows nothing as an allow pattern.
 */
export function pathAllowed(paths: AcContext['paths'], method: string, path: string): boolean {
  if (paths === undefined) return true;
  if (CONTROL.test(method) || CONTROL.test(path)) return false;
  const subjectsFor = (
    pattern: string,
    candidates: readonly string[],
    methods: readonly string[] = [method],
  ): string[] =>
    pattern.startsWith('/')
      ? [...candidates]
      : methods.flatMap((m) => candidates.map((p) => `${m} ${p}`));
  // HEAD is GET without the body: what GET may not see, HEAD may not probe.
  const denyMethods = method.toUpperCase() === 'HEAD' ? [method, 'GET'] : [method];

  const decoded = path.replace(ASCII_ESCAPE, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
  const denyPaths = [
    ...new Set(
      [path, decoded].flatMap((p) => (p.endsWith('/') && p.length > 1 ? [p, p.slice(0, -1)] : [p])),
    ),
  ];
  for (const pattern of paths.deny) {
    try {
      const variants = denyVariants(pattern.toLowerCase());
      const subjects = subjectsFor(pattern, denyPaths, denyMethods).map((s) => s.toLowerCase());
      if (matchesAny(variants, subjects)) return false;
    } catch {
      return false;
    }
  }
  return paths.allow.some((pattern) => {
    try {
      return matchesAny([pattern], subjectsFor(pattern, [path]));
    } catch {
      return false;
    }
  });
}

export class HttpConnector implements Connector<HttpOperation, HttpResult> {
  readonly name = 'http';
  readonly credentialType = 'oauth' as const;
  readonly #maxRequestBytes: number;

  constructor(private readonly options: HttpConnectorOptions = {}) {
    this.#maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  /**
   * Reads `{method, path, query?, headers?, body?}` strictly. Shape errors are
   * InvalidArgumentError('operation…'); a path or headers that break the transport's
   * rules are refused here already (http_path_invalid, http_header_*, http_body_too_large),
   * before any credential is issued. The path is returned in canonical form.
   */
  parseOperation(raw: unknown): HttpOperation {
    if (!isPlainObject(raw)) throw new InvalidArgumentError('operation');
    const { method, path, query, headers, body, ...rest } = raw;
    if (Object.keys(rest).length > 0) throw new InvalidArgumentError('operation (unknown field)');
    if (typeof method !== 'string' || !(HTTP_METHODS as readonly string[]).includes(method)) {
      throw new InvalidArgumentError('operation.method');
    }
    if (typeof path !== 'string' || path.length > MAX_PATH_LENGTH) {
      throw new InvalidArgumentError('operation.path');
    }
    const canonicalPath = normaliseRequestPath(path);
    const op: {
      method: HttpMethod;
      path: string;
      query?: Record<string, string>;
      headers?: Record<string, string>;
      body?: string;
    } = { method: method as HttpMethod, path: canonicalPath };
    if (query !== undefined) {
      op.query = stringRecord(query, 'operation.query', {
        count: MAX_QUERY_PARAMS,
        key: MAX_QUERY_KEY,
        value: MAX_QUERY_VALUE,
      });
    }
    if (headers !== undefined) {
      if (!isPlainObject(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
        throw new InvalidArgumentError('operation.headers');
      }
      checkRequestHeaders(headers as Record<string, string>);
      op.headers = Object.fromEntries(Object.entries(headers)) as Record<string, string>;
    }
    if (body !== undefined) {
      if (typeof body !== 'string' || method === 'GET' || method === 'HEAD') {
        throw new InvalidArgumentError('operation.body');
      }
      if (Buffer.byteLength(body) > this.#maxRequestBytes) {
        throw new HttpTransportError('bodyTooLarge');
      }
      op.body = body;
    }
    return op;
  }

  requiredCapabilities(op: HttpOperation): readonly Capability[] {
    return op.method === 'GET' || op.method === 'HEAD' ? ['read'] : ['write'];
  }

  /** Not a command: the accord's command policy does not apply (its path policy does). */
  describe(op: HttpOperation): string {
    return `${op.method} ${op.path}`;
  }

  commandLine(): undefined {
    return undefined;
  }

  checkPolicy(op: HttpOperation, ac: AcContext): void {
    if (!pathAllowed(ac.paths, op.method, op.path)) {
      throw new InvocationDeniedError('path_not_allowed');
    }
  }

  run(ctx: RunContext<HttpOperation>): Promise<HttpResult> {
    const { credential, operation: op, acContext } = ctx;
    // I3 on the credential itself: an OAuth bearer token issued for exactly this target.
    if (
      credential.type !== 'oauth' ||
      credential.target !== ctx.target ||
      ctx.target !== acContext.target ||
      typeof (credential.tokenType as unknown) !== 'string' ||
      credential.tokenType.toLowerCase() !== 'bearer'
    ) {
      return Promise.reject(new HttpCredentialError());
    }
    return httpRequest({
      base: ctx.target,
      method: op.method,
      path: op.path,
      query: op.query,
      headers: op.headers,
      body: op.body,
      bearer: credential.accessToken,
      limits: ctx.limits,
      maxRequestBytes: this.#maxRequestBytes,
      lookup: this.options.lookup,
      ca: this.options.ca,
      signal: ctx.signal,
      allowPath: (method, path) => pathAllowed(acContext.paths, method, path),
    });
  }

  /** Status and sizes only: headers and body may hold anything, tokens included. */
  auditDetail(result: HttpResult): Record<string, unknown> {
    return {
      status: result.status,
      redirects: result.redirects,
      body_bytes: Buffer.byteLength(result.body, result.body_encoding),
      truncated: result.body_truncated,
      timed_out: result.timed_out,
    };
  }
}
