/**
 * The HTTP edge of the error hierarchy, one for every HTTP server Bastion runs: the broker,
 * the Bascule runtime (both Fastify) and the MCP bridge over HTTP (node:http). Every
 * failure leaves as `{"error": {"code", "message"}}` with a stable code; Fastify's own
 * errors are mapped to ours without their text (which can quote input); anything unknown is
 * a generic 500. A 401 names the scheme the server takes.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BastionError, toErrorResponse, type ErrorBody } from '../base/errors.js';

export interface EdgeOptions {
  /** The `WWW-Authenticate` challenge sent with every 401, e.g. `DPoP algs="EdDSA"`. */
  readonly challenge: string;
}

export interface ErrorReply {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** Status, body and headers for any thrown value. */
export function errorReply(err: unknown, options: EdgeOptions): ErrorReply {
  const { status, body } = toErrorResponse(err);
  const headers: Record<string, string> = {
    ...(err instanceof BastionError ? err.httpHeaders() : {}),
  };
  if (status === 401) headers['www-authenticate'] = options.challenge;
  return { status, body, headers };
}

/** Fastify error codes → ours. */
const FASTIFY_ERRORS: Record<string, () => BastionError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new BastionError('payload_too_large'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new BastionError('unsupported_media_type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new BastionError('invalid_request', { details: ['Content-Length'] }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new BastionError('malformed_json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new BastionError('malformed_json'),
};

function fromFastify(err: FastifyError): BastionError | undefined {
  const known = FASTIFY_ERRORS[err.code];
  if (known !== undefined) return known();
  if (err.validation !== undefined) {
    // Name where, never what: the instance path and the rule come from the schema.
    const first = err.validation[0];
    const where = first?.instancePath || err.validationContext || 'request';
    const rule = first?.keyword ?? 'schema';
    return new BastionError('invalid_request', { details: [`${where} fails ${rule}`] });
  }
  // JSON.parse errors from the default parser arrive as a 400 SyntaxError.
  if (err instanceof SyntaxError || (err.statusCode === 400 && err.name === 'SyntaxError')) {
    return new BastionError('malformed_json');
  }
  return undefined;
}

/** The error and not-found handlers of a Fastify server. */
export function installErrorHandling(app: FastifyInstance, options: EdgeOptions): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = err instanceof BastionError ? err : fromFastify(err);
    if (mapped === undefined) request.log.error({ err }, 'unhandled error');
    const { status, body, headers } = errorReply(mapped ?? err, options);
    void reply.code(status).headers(headers).type('application/json').send(body);
  });
  app.setNotFoundHandler((_request, reply) => {
    const { status, body } = errorReply(new BastionError('not_found'), options);
    void reply.code(status).send(body);
  });
}

/** The same reply on a plain node:http response; `extra` adds headers (Allow, say). */
export function sendError(
  res: ServerResponse,
  err: unknown,
  options: EdgeOptions,
  extra: Readonly<Record<string, string>> = {},
): void {
  const { status, body, headers } = errorReply(err, options);
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
    ...extra,
  });
  res.end(text);
}
