/**
 * The `http` connector's operation — one request, `{method, path, query?, headers?, body?}`
 * — and its result, declared once. The schema holds the structure and the size limits;
 * the connector then applies what a schema cannot say (the transport's path and header
 * rules, the body limit it was configured with, the accord's path policy).
 */
import { z } from 'zod';
import { MAX_PATH_LENGTH } from '../../governance/request-path.js';
import { HTTP_METHODS } from '../../transports/http/request.js';
import type { HttpResult } from '../../transports/http/response.js';
import type { OperationSpec } from '../operation.js';

export const MAX_QUERY_PARAMS = 64;
export const MAX_QUERY_KEY = 256;
export const MAX_QUERY_VALUE = 2048;

export const httpOperation = z
  .strictObject({
    method: z
      .enum(HTTP_METHODS)
      .describe('GET and HEAD need the read capability, the others write'),
    path: z
      .string()
      .max(MAX_PATH_LENGTH)
      .describe("Path relative to the AC's target URL, starting with /, without the query"),
    query: z
      .record(z.string().min(1).max(MAX_QUERY_KEY), z.string().max(MAX_QUERY_VALUE))
      .refine((q) => Object.keys(q).length <= MAX_QUERY_PARAMS, { error: 'too many' })
      .describe(`Query parameters (at most ${MAX_QUERY_PARAMS})`)
      .optional(),
    headers: z
      .record(z.string(), z.string())
      .describe(
        'Extra request headers; never Authorization, Host or hop-by-hop headers: the broker adds the credential',
      )
      .optional(),
    body: z
      .string()
      .describe('The request body as text (for JSON, the serialized JSON); not with GET or HEAD')
      .optional(),
  })
  .refine((op) => op.body === undefined || (op.method !== 'GET' && op.method !== 'HEAD'), {
    error: 'no body with GET or HEAD',
    path: ['body'],
  });

export const httpResult = z.object({
  status: z.int(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  body_encoding: z.enum(['utf8', 'base64']),
  body_truncated: z.boolean(),
  redirects: z.int(),
  timed_out: z.boolean(),
  duration_ms: z.int(),
});

// The schema and the transport's type describe one thing: keep them in step.
const _typesAgree: [z.output<typeof httpResult>] extends [HttpResult] ? true : never = true;
void _typesAgree;

export const HTTP_OPERATION: OperationSpec = {
  schema: httpOperation,
  result: httpResult,
  summary: '{method, path, query?, headers?, body?}: one request to the target API',
};
