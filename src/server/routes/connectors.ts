/**
 * `POST /connectors/{connector}/invoke`: hands the request to SessionConnector.invoke. The
 * AC comes in `Authorization: DPoP <AC>`, the proof in `DPoP` (with `ath`).
 */
import type { FastifyInstance } from 'fastify';
import type { SessionConnector } from '../../connectors/session.js';
import { errorSchemas } from './schemas.js';

const execResult = {
  type: 'object',
  properties: {
    exit_code: { type: ['integer', 'null'] },
    signal: { type: 'string' },
    stdout: { type: 'string' },
    stderr: { type: 'string' },
    stdout_truncated: { type: 'boolean' },
    stderr_truncated: { type: 'boolean' },
    timed_out: { type: 'boolean' },
    duration_ms: { type: 'integer' },
  },
  required: [
    'exit_code',
    'stdout',
    'stderr',
    'stdout_truncated',
    'stderr_truncated',
    'timed_out',
    'duration_ms',
  ],
} as const;

const httpResult = {
  type: 'object',
  properties: {
    status: { type: 'integer' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    body: { type: 'string' },
    body_encoding: { type: 'string', enum: ['utf8', 'base64'] },
    body_truncated: { type: 'boolean' },
    redirects: { type: 'integer' },
    timed_out: { type: 'boolean' },
    duration_ms: { type: 'integer' },
  },
  required: ['status', 'headers', 'body', 'body_encoding', 'body_truncated', 'timed_out'],
} as const;

export function connectorRoutes(
  app: FastifyInstance,
  deps: { session: SessionConnector; publicUrl: () => string },
): void {
  app.post<{ Params: { connector: string }; Body: { target: string; operation: unknown } }>(
    '/connectors/:connector/invoke',
    {
      schema: {
        summary: 'Run one operation on the target under an AC',
        description:
          'Authorization: DPoP <AC>, and a DPoP proof whose ath is the hash of the AC. The broker resolves a short-lived credential for the target, runs the operation, then revokes and zeroizes the credential.',
        params: {
          type: 'object',
          properties: { connector: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' } },
          required: ['connector'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['target', 'operation'],
          properties: {
            target: { type: 'string', minLength: 1, maxLength: 2048 },
            operation: {
              type: 'object',
              description:
                'ssh: {argv: [...]} or {command: "..."}, optional stdin; bascule: {argv: [...]}, optional stdin',
              properties: {
                argv: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 256 },
                command: { type: 'string', maxLength: 8192 },
                stdin: { type: 'string', maxLength: 65536 },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              invocation_id: { type: 'string' },
              ac_id: { type: 'string' },
              connector: { type: 'string' },
              target: { type: 'string' },
              // ssh and bascule run commands; http makes one request.
              result: { anyOf: [execResult, httpResult] },
              credential: {
                type: 'object',
                description: 'What was used, by fingerprint; never the credential',
                properties: {
                  type: { type: 'string' },
                  issued_by: { type: 'string' },
                  id: { type: 'string' },
                  fingerprint: { type: 'string' },
                  expires_at: { type: 'string', format: 'date-time' },
                  must_revoke: { type: 'boolean' },
                },
              },
            },
          },
          ...errorSchemas,
        },
      },
    },
    async (request) => {
      const closed = new AbortController();
      request.raw.once('close', () => {
        if (!request.raw.complete) closed.abort();
      });
      return deps.session.invoke({
        connector: request.params.connector,
        authorization: request.headers.authorization,
        dpop: request.headers.dpop,
        method: request.method,
        url: deps.publicUrl() + (request.url.split('?')[0] ?? '/'),
        body: request.body,
        signal: closed.signal,
      });
    },
  );
}
