/**
 * The HTTP edge of the error hierarchy: every failure leaves as
 * `{"error": {"code", "message"}}` with a stable code; Fastify's own errors are mapped to
 * ours without their text (which can quote input); anything unknown is a generic 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BastionError, defineErrorCode, toErrorResponse } from '../errors.js';
import { RateLimitedError } from './rate-limit.js';

const HTTP_CODES = {
  malformedJson: defineErrorCode('malformed_json'),
  invalidRequest: defineErrorCode('invalid_request'),
  tooLarge: defineErrorCode('payload_too_large'),
  mediaType: defineErrorCode('unsupported_media_type'),
  notFound: defineErrorCode('not_found'),
  methodNotAllowed: defineErrorCode('method_not_allowed'),
} as const;

export class HttpError extends BastionError {}

/** Fastify error codes → ours; the message is fixed per code. */
const FASTIFY_ERRORS: Record<string, () => HttpError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new HttpError(HTTP_CODES.tooLarge, 'Request body too large', 413),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new HttpError(HTTP_CODES.mediaType, 'Content-Type must be application/json', 415),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new HttpError(HTTP_CODES.invalidRequest, 'Invalid Content-Length', 400),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new HttpError(HTTP_CODES.malformedJson, 'Request body is not valid JSON', 400),
  FST_ERR_CTP_INVALID_JSON_BODY: () =>
    new HttpError(HTTP_CODES.malformedJson, 'Request body is not valid JSON', 400),
};

function fromFastify(err: FastifyError): HttpError | undefined {
  const known = FASTIFY_ERRORS[err.code];
  if (known !== undefined) return known();
  if (err.validation !== undefined) {
    // Name where, never what: the instance path and the rule come from the schema.
    const first = err.validation[0];
    const where = first?.instancePath || err.validationContext || 'request';
    const rule = first?.keyword ?? 'schema';
    return new HttpError(HTTP_CODES.invalidRequest, `Invalid request: ${where} fails ${rule}`, 400);
  }
  // JSON.parse errors from the default parser arrive as a 400 SyntaxError.
  if (err instanceof SyntaxError || (err.statusCode === 400 && err.name === 'SyntaxError')) {
    return new HttpError(HTTP_CODES.malformedJson, 'Request body is not valid JSON', 400);
  }
  return undefined;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = err instanceof BastionError ? err : fromFastify(err);
    if (mapped === undefined) request.log.error({ err }, 'unhandled error');
    const { status, body } = toErrorResponse(mapped ?? err);
    if (mapped instanceof RateLimitedError)
      void reply.header('retry-after', String(mapped.retryAfterSeconds));
    if (status === 401) void reply.header('www-authenticate', 'DPoP algs="EdDSA"');
    void reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send(new HttpError(HTTP_CODES.notFound, 'Not found', 404).toResponse());
  });
}
