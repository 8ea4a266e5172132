/**
 * The signing hook of the HTTP transport: a credential that is not a bearer token (AWS
 * keys, for SigV4) signs each request the transport is about to send — every hop, since a
 * followed redirect changes the path — over exactly what goes on the wire: the method, the
 * path and query as sent, the Host header the transport sets, the caller's headers and the
 * body. The hook returns the headers to add; the transport sends them as they are.
 */
import type { Base } from './base-url.js';

export interface SignableRequest {
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Bare host name or address. */
  readonly hostname: string;
  readonly port: number;
  /** The Host header the transport sends (port only when not the scheme's default). */
  readonly host: string;
  /** Path and query exactly as sent, e.g. `/bucket/key?versionId=1`. */
  readonly requestPath: string;
  /** The caller's headers, lower-case names, as sent. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** Signs one request: the headers to add (Host among them), or throws a BastionError. */
export type RequestSigner = (request: SignableRequest) => Promise<Record<string, string>>;

/** The Host header node:http would send, made explicit so that it is the one signed. */
export function hostHeader(base: Base): string {
  const host = base.hostname.includes(':') ? `[${base.hostname}]` : base.hostname;
  const defaultPort = base.scheme === 'https' ? 443 : 80;
  return base.port === defaultPort ? host : `${host}:${base.port}`;
}
