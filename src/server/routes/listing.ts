/**
 * Listing routes: a caller's own ACs and the requests awaiting its approval, so neither a
 * principal nor an approver needs an ac_id passed by hand. DPoP-authenticated; each lists
 * only what concerns the caller, and never a token (GET /governance/acs/{ac_id} gives it).
 */
import type { FastifyInstance } from 'fastify';
import type { GovernanceService } from '../../governance/service.js';
import { callerOf } from '../authenticate.js';
import { acView } from './governance.js';
import { dpopHeader, errorSchemas as errors } from './schemas.js';

const limitQuery = {
  type: 'object',
  additionalProperties: false,
  // Query values are text; no type coercion anywhere, so digits by pattern (1 to 1000).
  properties: { limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' } },
} as const;

const acList = { type: 'object', properties: { acs: { type: 'array', items: acView } } } as const;

export function listingRoutes(app: FastifyInstance, deps: { service: GovernanceService }): void {
  const { service } = deps;
  for (const [path, which, summary] of [
    [
      '/governance/acs',
      'own',
      "The caller's own ACs (requested by it, or delegated to its key), newest first",
    ],
    [
      '/governance/approvals',
      'awaiting',
      'Pending ACs the caller may approve and has not: under accords naming it an approver',
    ],
    ['/governance/live', 'live', 'Every active AC, newest first (broker admins only)'],
  ] as const) {
    app.get<{ Querystring: { limit?: string } }>(
      path,
      {
        config: { auth: 'proof' },
        schema: {
          summary,
          headers: dpopHeader,
          querystring: limitQuery,
          response: { 200: acList, ...errors },
        },
      },
      async (request) => ({
        acs: await service.list(
          callerOf(request),
          which,
          request.query.limit === undefined ? undefined : Number(request.query.limit),
        ),
      }),
    );
  }
}
