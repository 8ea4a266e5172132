/**
 * The OpenAPI document's own parts (issue #15 item 9): the servers, the security schemes,
 * and what every operation must say for a generated client to work — an `operationId` and
 * a description of each response (Fastify would write "Default Response"). Applied to each
 * route as the document is built (@fastify/swagger's `transform`), on a copy: the routes'
 * own schemas, which validate and serialise, are never touched. `redocly lint` with its
 * recommended rules runs over the result in the suite (test/server/openapi-lint.test.ts).
 */
import type { FastifySchema } from 'fastify';
import { errorSchema } from './routes/schemas.js';

/** Names of the operations clients call most; any other is named from its method and path. */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  'POST /governance/authorize/': 'authorize',
  'POST /governance/approvals/:ac_id': 'approve',
  'POST /governance/revoke/': 'revoke',
  'GET /governance/acs/:ac_id': 'getAc',
  'GET /governance/accords': 'listAccords',
  'GET /.well-known/jwks.json': 'getJwks',
  'GET /audit': 'listAudit',
  'GET /health/backends': 'getBackendHealth',
};

/** What each status means across the API; the error's `code` says which case it is. */
const RESPONSES: Readonly<Record<string, string>> = {
  '200': 'Done',
  '201': 'Created',
  '202': 'Accepted: waiting for approvals',
  '400': 'Malformed JSON or an invalid argument',
  '401': 'No valid DPoP proof, or no valid AC for it',
  '403': 'Refused by policy: the error code names the rule',
  '404': 'No such AC, connector or route',
  '409': 'The AC is not in a state that allows this',
  '413': 'The request body is larger than the configured limit',
  '415': 'The request body is not application/json',
  '429': 'Rate limited: see Retry-After',
  '502': 'A credential backend or the target failed',
  '503': 'The broker cannot act safely now (audit, store or backends unavailable)',
  '4XX': 'The request was refused before it reached the operation (malformed request)',
};

const capitalised = (word: string): string => (word[0]?.toUpperCase() ?? '') + word.slice(1);

/** `POST /governance/approvals/:ac_id` → `postGovernanceApprovalsAcId`. */
function derivedId(method: string, url: string): string {
  const words = url.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [method.toLowerCase(), ...words.map(capitalised)].join('');
}

/** What of a route schema the document's parts read. */
interface Documented {
  operationId?: string | undefined;
  hide?: boolean | undefined;
  response?: Record<string, Record<string, unknown>> | undefined;
}

/** The route's schema as the document shows it: named, and every response described. */
export function documentRoute(input: {
  schema: FastifySchema;
  url: string;
  route: { method: string | string[] };
}): { schema: FastifySchema; url: string } {
  const { url } = input;
  const schema = input.schema as (FastifySchema & Documented) | undefined;
  if (schema === undefined || schema.hide === true) return { schema: input.schema, url };
  const method =
    (Array.isArray(input.route.method) ? input.route.method[0] : input.route.method) ?? 'GET';
  const key = `${method} ${url}`;
  const connector = /^\/connectors\/([a-z][a-z0-9_]*)\/invoke$/.exec(url)?.[1];
  const response: Record<string, Record<string, unknown>> = {};
  for (const [status, body] of Object.entries(schema.response ?? {})) {
    response[status] = { ...body, description: body['description'] ?? RESPONSES[status] ?? 'Done' };
  }
  if (!Object.keys(response).some((s) => s.startsWith('4'))) {
    response['4XX'] = { ...errorSchema, description: RESPONSES['4XX'] };
  }
  const operationId =
    schema.operationId ??
    OPERATION_IDS[key] ??
    (connector !== undefined ? `invoke${capitalised(connector)}` : undefined) ??
    derivedId(method, url);
  return { schema: { ...schema, operationId, response }, url };
}
