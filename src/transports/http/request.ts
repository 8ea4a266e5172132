/**
 * The HTTP transport: one request to a target's base URL with a bearer token, signed with
 * the credential (sign.ts, SigV4), or over mutual TLS with a client certificate
 * (client-certificate.ts), for the `http` connector. It exists so that the
 * broker, not the caller, decides where a token goes: everything the caller controls is
 * checked before DNS is consulted (request-path.ts, request-headers.ts), a link-local or
 * metadata target is refused unless an accord named it exactly, the host is resolved once
 * and the connection pinned to that answer (destination.ts), redirects are followed only
 * within the base (redirects.ts), and only a few response headers come back (response.ts).
 * The whole exchange is bounded in size and time.
 */
import type { LookupFunction } from 'node:net';
import type { SecureContext } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError } from '../../base/errors.js';
import type { Secret } from '../../credentials/secret.js';
import type { ExecLimits } from '../types.js';
import { parseBase } from './base-url.js';
import { type ClientCertificate, clientTlsContext } from './client-certificate.js';
import { isRefusedHost } from '../../governance/refused-hosts.js';
import {
  defaultConnect,
  defaultLookup,
  resolveOnce,
  type ConnectFunction,
  type Pinned,
} from './destination.js';
import { HttpTransportError, isPolicyRefusal } from './errors.js';
import { exchange, type Hop } from './exchange.js';
import { followRedirect, redirectLocation, type HopState } from './redirects.js';
import { checkRequestHeaders } from './request-headers.js';
import { hostHeader, type RequestSigner } from './sign.js';
import { normaliseRequestPath } from '../../governance/request-path.js';
import { queryString } from './query.js';
import { encodeBody, safeHeaders, type HttpResult } from './response.js';

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
  /** Signs each hop instead (SigV4): never together with `bearer`. */
  readonly sign?: RequestSigner | undefined;
  /** A client certificate for mutual TLS (an X.509-SVID); https targets only. */
  readonly clientCertificate?: ClientCertificate | undefined;
  /** maxOutputBytes: response body bytes kept; timeoutMs: wall time for the whole exchange. */
  readonly limits: ExecLimits;
  /** Default 1 MiB. */
  readonly maxRequestBytes?: number | undefined;
  /** Injectable resolver (tests); default dns.lookup. Called once per request. */
  readonly lookup?: LookupFunction | undefined;
  /** Injectable TCP connect (tests); default net.connect. Only ever given an address. */
  readonly connect?: ConnectFunction | undefined;
  /**
   * The target's own host (bare, canonical) when an accord named it exactly: only then may
   * a target that is itself a link-local, metadata or unspecified address, or a metadata
   * name, be reached. DNS answers are never excused. Set by the connector from the AC.
   */
  readonly dangerouslyAllowRefusedHost?: string | undefined;
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

export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
export const DEFAULT_ALLOWED_REDIRECTS = 3;

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

/** The TLS context with the client certificate, if one is given: for an https target only. */
function mutualTls(
  client: ClientCertificate | undefined,
  scheme: string,
  ca: string | undefined,
): SecureContext | undefined {
  if (client === undefined) return undefined;
  if (scheme !== 'https') throw new HttpTransportError('clientCertificateUnusable');
  return clientTlsContext(client, ca);
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
  const query = queryString(options.query, options.sign !== undefined);
  const headers = checkRequestHeaders(options.headers);
  if (options.bearer !== undefined && options.sign !== undefined) {
    throw new InvalidArgumentError('sign');
  }
  let body: Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body !== 'string') throw new InvalidArgumentError('body');
    if (Buffer.byteLength(options.body) > maxRequestBytes) {
      throw new HttpTransportError('bodyTooLarge');
    }
    body = Buffer.from(options.body);
  }
  // A metadata name is refused before it is resolved, unless an accord named it; an address
  // (the target's literal or a DNS answer) is checked where it is connected to.
  const allowed = options.dangerouslyAllowRefusedHost === base.hostname;
  if (!base.ipLiteral && isRefusedHost(base.hostname) && !allowed) {
    throw new HttpTransportError('destinationRefused');
  }
  const secureContext = mutualTls(options.clientCertificate, base.scheme, options.ca);

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

  const state: HopState = {
    method: options.method,
    requestPath: base.basePath + relative + query,
    body,
    headers,
    redirects: 0,
  };
  const timedOutResult = (hop?: Hop): HttpResult => ({
    status: hop?.status ?? 0,
    headers: hop === undefined ? {} : safeHeaders(base, state.requestPath, hop.headers),
    ...(hop === undefined
      ? { body: '', body_encoding: 'utf8' as const }
      : encodeBody(hop.body, hop.headers['content-type'], true)),
    body_truncated: false,
    redirects: state.redirects,
    timed_out: true,
    duration_ms: Math.round(performance.now() - started),
  });
  try {
    // Resolved once: every hop (redirects stay on this origin) connects to this address.
    const pinned: Pinned = base.ipLiteral
      ? { address: base.hostname, family: base.hostname.includes(':') ? 6 : 4 }
      : await resolveOnce(options.lookup ?? defaultLookup, base.hostname, controller.signal);
    for (;;) {
      // Signed per hop, over the very path, headers and body this hop sends.
      const signed = await options.sign?.({
        method: state.method,
        scheme: base.scheme,
        hostname: base.hostname,
        port: base.port,
        host: hostHeader(base),
        requestPath: state.requestPath,
        headers: state.headers,
        body: state.body,
      });
      const hop = await exchange({
        base,
        pinned,
        connect: options.connect ?? defaultConnect,
        allowedLiteral: base.ipLiteral && allowed ? base.hostname : undefined,
        method: state.method,
        requestPath: state.requestPath,
        headers: state.headers,
        body: state.body,
        bearer: options.bearer,
        signed,
        maxBytes: options.limits.maxOutputBytes,
        signal: controller.signal,
        ca: options.ca,
        secureContext,
      });
      if (hop.interrupted) {
        if (timedOut) return timedOutResult(hop);
        throw new HttpTransportError('connectFailed');
      }
      const location = redirectLocation(hop.status, hop.headers);
      if (location !== undefined) {
        followRedirect(base, state, hop.status, location, {
          allowedRedirects,
          allowPath: options.allowPath,
        });
        continue;
      }
      return {
        status: hop.status,
        headers: safeHeaders(base, state.requestPath, hop.headers),
        ...encodeBody(hop.body, hop.headers['content-type'], hop.truncated),
        body_truncated: hop.truncated,
        redirects: state.redirects,
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
