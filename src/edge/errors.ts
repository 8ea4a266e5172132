/**
 * The HTTP edge of the error hierarchy, one for every HTTP server Bastion runs: the broker,
 * the Bascule runtime (both Fastify) and the MCP bridge over HTTP (node:http). Every
 * failure leaves as `{"error": {"code", "message"}}` with a stable code and a fixed message:
 * Fastify's and Node's own errors (a bad URL, a method no route takes, unparsable HTTP) are
 * mapped to ours without their text, which can quote input, and are not logged as errors;
 * anything else is one of our bugs: a generic 500, logged. A 401 names the scheme the
 * server takes.
 */
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { BastionError, toErrorResponse, type ErrorBody } from '../base/errors.js';
import { MethodTable } from './methods.js';

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
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: () => new BastionError('unsupported_media_type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new BastionError('invalid_request', { details: ['Content-Length'] }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new BastionError('malformed_json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new BastionError('malformed_json'),
  FST_ERR_BAD_URL: () => new BastionError('malformed_url'),
  FST_ERR_MAX_PARAM_LENGTH: () => new BastionError('url_too_long'),
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
  const clientStatus = typeof err.statusCode === 'number' && err.statusCode < 500;
  // Any other refusal of Fastify's own, and a body the client stopped sending midway (the
  // socket's error, which Fastify marks 400): the client's doing, not a bug of ours.
  if (clientStatus && (err.code?.startsWith('FST_') === true || err.code === 'ECONNRESET')) {
    return new BastionError('bad_request');
  }
  return undefined;
}

/** Answers any error on a Fastify reply; only what is not a client's error is logged. */
function answer(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  options: EdgeOptions,
): void {
  const mapped = err instanceof BastionError ? err : fromFastify(err);
  if (mapped === undefined) request.log.error({ err }, 'unhandled error');
  send(reply, errorReply(mapped ?? err, options));
}

function send(reply: FastifyReply, { status, body, headers }: ErrorReply): void {
  void reply.code(status).headers(headers).type('application/json').send(body);
}

/**
 * Node's refusals of unparsable HTTP (a bad request line or method, oversized headers, a
 * request that never finished arriving), written on the socket in our shape, as Node
 * would write its own: only when no reply is under way there, then the socket is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && inFlight?.headersSent !== true) {
    const code =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 'headers_too_large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'request_timeout'
          : 'bad_request';
    const { status, body } = toErrorResponse(new BastionError(code));
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(text)}\r\n` +
        'cache-control: no-store\r\nconnection: close\r\n\r\n' +
        text,
    );
  }
  socket.destroy();
}

/** For a node:http server: Node's own refusals of unparsable HTTP, in our shape. */
export function installClientErrorHandling(server: Server): void {
  server.on('clientError', answerClientError);
}

/**
 * A Fastify server with the edge in place, the same for every server: strict parsing (JSON
 * only, no type coercion, no defaults, `__proto__` and `constructor` refused), Fastify's
 * framework errors (a bad URL, a path parameter too long) and Node's client errors answered
 * in our shape, the error and not-found handlers, and a request no route takes answered
 * before any body is parsed. The caller gives its 401 challenge, logger and body limit.
 */
export function createEdgeFastify(
  settings: EdgeOptions &
    Pick<FastifyServerOptions, 'logger' | 'bodyLimit'> & {
      /** HTTPS with this PEM chain and key; the server builds its TLS context from them. */
      https?: { cert: Buffer; key: Buffer } | undefined;
    },
): FastifyInstance {
  const { challenge, https, ...serverOptions } = settings;
  const options: EdgeOptions = { challenge };
  // Typed as the HTTP instance either way: the routes and hooks are the same; only the
  // server underneath (an https.Server) differs, and its owner knows it.
  const app = Fastify({
    ...serverOptions,
    ...(https !== undefined ? { https } : {}),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 128 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    frameworkErrors: (err, request, reply) => answer(err, request, reply, options),
    clientErrorHandler: answerClientError,
  });
  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app, options);
  return app;
}

/** The error and not-found handlers of a Fastify server, and 405 for unserved methods. */
function installErrorHandling(app: FastifyInstance, options: EdgeOptions): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    answer(err, request, reply, options),
  );
  const table = new MethodTable();
  app.addHook('onRoute', (route) => table.add(route.method, route.url));
  // onRequest runs before any body is read: a request no route takes stops here.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) {
      done();
      return;
    }
    const unrouted = table.unrouted(request.method, request.url);
    if (unrouted.status === 404) {
      send(reply, errorReply(new BastionError('not_found'), options));
      return;
    }
    const refusal = errorReply(new BastionError('method_not_allowed'), options);
    send(reply, { ...refusal, headers: { ...refusal.headers, allow: unrouted.allow.join(', ') } });
  });
  app.setNotFoundHandler((_request, reply) => {
    send(reply, errorReply(new BastionError('not_found'), options));
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
