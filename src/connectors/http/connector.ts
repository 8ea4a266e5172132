/**
 * The `http` connector: one HTTP request to the target (a base URL) with a short-lived
 * OAuth access token (credential `oauth`) as the bearer (or DPoP-bound, with a fresh proof
 * per request, RFC 9449), signed with SigV4 by temporary
 * AWS keys (credential `aws`), or with an X.509-SVID as the client certificate of mutual
 * TLS (`x509_svid`) — per `connectors.http.credentials` — so that a caller can use an API
 * without ever holding its credential. Everything the caller sends is checked before a
 * credential exists: the operation's shape, the path and header rules of the transport,
 * the capability (GET/HEAD read, the rest write) and the accord's path policy
 * (governance/path-policy.ts), which redirects are held to as well.
 */
import type { LookupFunction } from 'node:net';
import type { AcContext } from '../../credentials/types.js';
import { BastionError } from '../../base/errors.js';
import { parseOrThrow } from '../../base/zod-issues.js';
import type { Capability } from '../../governance/capabilities.js';
import { pathAllowed } from '../../governance/path-policy.js';
import { targetHost } from '../../governance/targets.js';
import type { ConnectFunction } from '../../transports/http/destination.js';
import { HttpTransportError } from '../../transports/http/errors.js';
import { checkRequestHeaders } from '../../transports/http/request-headers.js';
import { normaliseRequestPath } from '../../governance/request-path.js';
import {
  DEFAULT_MAX_REQUEST_BYTES,
  httpRequest,
  type HttpMethod,
} from '../../transports/http/request.js';
import type { HttpResult } from '../../transports/http/response.js';
import type { Connector, RunContext } from '../connector.js';
import { InvocationDeniedError } from '../../governance/denials.js';
import { type RequestSigner } from '../../transports/http/sign.js';
import { dpopSigner } from '../../transports/http/dpop.js';
import { SIGV4_HEADERS, sigv4Signer } from '../../transports/http/sigv4.js';
import type { Secret } from '../../credentials/secret.js';
import type { Credential } from '../../credentials/types.js';
import type { CredentialBinding } from '../../credentials/binding.js';
import type { ClientCertificate } from '../../transports/http/client-certificate.js';
import {
  credentialFits,
  credentialTypeFor,
  ruleFor,
  type CredentialRule,
  type HttpCredentialType,
} from './credentials.js';
import { HTTP_OPERATION, httpOperation } from './operation.js';

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
  /** TCP connect, injectable for tests; default net.connect. */
  readonly connect?: ConnectFunction | undefined;
  /** Largest request body, in bytes; default 1 MiB. */
  readonly maxRequestBytes?: number | undefined;
  /** An extra CA certificate (PEM) trusted besides the system roots. */
  readonly ca?: string | undefined;
  /** Which credential each target takes (first match); a bearer token by default. */
  readonly credentials?: readonly CredentialRule[] | undefined;
}

/** The backend's credential is not of the kind this target takes, or for another target (I3). */
export class HttpCredentialError extends BastionError {
  constructor() {
    super('http_credential_invalid');
  }
}

export class HttpConnector implements Connector<HttpOperation, HttpResult> {
  readonly name = 'http';
  readonly credentialType = 'oauth' as const;
  readonly operation = HTTP_OPERATION;
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
    const { method, path, query, headers, body } = parseOrThrow(httpOperation, raw, 'operation');
    const op: {
      method: HttpMethod;
      path: string;
      query?: Record<string, string>;
      headers?: Record<string, string>;
      body?: string;
    } = { method, path: normaliseRequestPath(path) };
    if (query !== undefined) op.query = query;
    if (headers !== undefined) {
      checkRequestHeaders(headers);
      op.headers = headers;
    }
    if (body !== undefined) {
      if (Buffer.byteLength(body) > this.#maxRequestBytes) {
        throw new HttpTransportError('bodyTooLarge');
      }
      op.body = body;
    }
    return op;
  }

  credentialTypeFor(target: string): HttpCredentialType {
    return credentialTypeFor(this.options.credentials ?? [], target);
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
    // Before a credential exists: SigV4's own headers are the signer's to write.
    const headers = Object.keys(op.headers ?? {}).map((h) => h.toLowerCase());
    if (
      this.credentialTypeFor(ac.target) === 'aws' &&
      SIGV4_HEADERS.some((h) => headers.includes(h))
    ) {
      throw new HttpTransportError('headerForbidden');
    }
  }

  /** AWS keys are asked for this one request (the aws_sts backend's session policy). */
  credentialBinding(op: HttpOperation, target: string): CredentialBinding | undefined {
    const rule = ruleFor(this.options.credentials ?? [], target);
    if (rule?.type !== 'aws' || rule.service === undefined) return undefined;
    const queryKeys = Object.keys(op.query ?? {});
    return { awsRequest: { service: rule.service, method: op.method, path: op.path, queryKeys } };
  }

  /**
   * How the request carries the credential: a bearer header, a signature per hop, or the
   * client certificate of the TLS connection.
   */
  #authentication(
    credential: Credential,
    target: string,
  ):
    | { bearer: Secret }
    | { sign: RequestSigner }
    | { clientCertificate: ClientCertificate }
    | undefined {
    if (credential.type === 'oauth') {
      // A DPoP-bound token goes with a fresh proof per hop, never as a bearer token.
      const sign = dpopSigner(credential);
      return sign !== undefined ? { sign } : { bearer: credential.accessToken };
    }
    if (credential.type === 'x509_svid') return { clientCertificate: credential };
    const rule = ruleFor(this.options.credentials ?? [], target);
    if (credential.type === 'aws' && rule?.region !== undefined && rule.service !== undefined) {
      return { sign: sigv4Signer(credential, { region: rule.region, service: rule.service }) };
    }
    return undefined;
  }

  run(ctx: RunContext<HttpOperation>): Promise<HttpResult> {
    const { credential, operation: op, acContext } = ctx;
    // I3 on the credential itself: the kind this target takes, issued for exactly it.
    const authentication =
      ctx.target === acContext.target &&
      credentialFits(credential, this.credentialTypeFor(ctx.target), ctx.target)
        ? this.#authentication(credential, ctx.target)
        : undefined;
    if (authentication === undefined) return Promise.reject(new HttpCredentialError());
    return httpRequest({
      base: ctx.target,
      method: op.method,
      path: op.path,
      query: op.query,
      headers: op.headers,
      body: op.body,
      ...authentication,
      limits: ctx.limits,
      maxRequestBytes: this.#maxRequestBytes,
      lookup: this.options.lookup,
      connect: this.options.connect,
      // decide() issues an AC for a link-local or metadata host only when the accord spells
      // that host exactly: the AC's own target is the one such host the request may reach.
      dangerouslyAllowRefusedHost: targetHost(acContext.target),
      ca: this.options.ca,
      signal: ctx.signal,
      // Redirects are held to the AC's path policy and to its accord's current one.
      allowPath: (method, path) =>
        pathAllowed(acContext.paths, method, path) &&
        (ctx.accord === undefined || pathAllowed(ctx.accord.paths, method, path)),
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
