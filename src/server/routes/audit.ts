/**
 * `GET /audit`: the hash-chained audit trail, paged by seq, filtered. Broker admins read
 * every entry; anyone else only the entries where they are the actor or the principal.
 * `Accept: application/x-ndjson` returns JSON Lines (the export format).
 * `GET /audit/checkpoints`: the latest signed checkpoint, for whoever may read the trail to
 * check its signature against the JWKS (the console does, in the browser).
 */
import type { FastifyInstance } from 'fastify';
import { AUDIT_TYPES, type AuditEntry, type AuditFilter } from '../../base/audit-records.js';
import { callerOf } from '../authenticate.js';
import type { AuditCheckpoint } from '../../store/store.js';
import { dpopHeader, errorSchemas } from './schemas.js';

export interface AuditRouteDeps {
  list: (filter: AuditFilter) => Promise<AuditEntry[]>;
  /** Whether `did` is a broker admin now (admins follow a reloaded configuration). */
  isAdmin: (did: string) => boolean;
  latestCheckpoint: () => Promise<AuditCheckpoint | undefined>;
}

const MAX_LIMIT = 1000;

export function auditRoutes(app: FastifyInstance, deps: AuditRouteDeps): void {
  app.get<{
    Querystring: {
      after?: number;
      limit?: number;
      type?: AuditFilter['type'];
      ac_id?: string;
      did?: string;
      since?: string;
    };
  }>(
    '/audit',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'Audit entries (paged by seq); admins see all, others their own',
        headers: dpopHeader,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // Query values are text; no type coercion anywhere, so digits by pattern.
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
            type: { type: 'string', enum: [...AUDIT_TYPES] },
            ac_id: { type: 'string', maxLength: 64 },
            did: { type: 'string', maxLength: 128 },
            since: { type: 'string', format: 'date-time' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              entries: { type: 'array', items: { type: 'object', additionalProperties: true } },
              next_after: { type: ['integer', 'null'] },
            },
          },
          ...errorSchemas,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const q = request.query;
      const isAdmin = deps.isAdmin(caller.did);
      const limit = Math.min(Number(q.limit ?? 100), MAX_LIMIT);
      const entries = await deps.list({
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        limit,
        ...(q.type !== undefined ? { type: q.type } : {}),
        ...(q.ac_id !== undefined ? { ac_id: q.ac_id } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        // Only an admin may look at someone else's entries.
        did: isAdmin ? q.did : caller.did,
      });
      const nextAfter =
        entries.length === limit ? (entries[entries.length - 1]?.seq ?? null) : null;
      if ((request.headers.accept ?? '').includes('application/x-ndjson')) {
        return reply
          .type('application/x-ndjson')
          .serializer((v: unknown) => v as string)
          .send(
            entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length > 0 ? '\n' : ''),
          );
      }
      return { entries, next_after: nextAfter };
    },
  );

  app.get(
    '/audit/checkpoints',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'The latest signed checkpoint of the audit chain (none before the first)',
        description:
          'Its jws is a compact JWS (EdDSA, typ audit-checkpoint+jwt) over {seq, hash, ts}, signed by a key of /.well-known/jwks.json.',
        headers: dpopHeader,
        response: {
          200: {
            type: 'object',
            properties: {
              checkpoints: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    seq: { type: 'integer' },
                    hash: { type: 'string' },
                    ts: { type: 'string', format: 'date-time' },
                    jws: { type: 'string' },
                  },
                  required: ['seq', 'hash', 'ts', 'jws'],
                },
              },
            },
            required: ['checkpoints'],
          },
          ...errorSchemas,
        },
      },
    },
    async () => {
      const latest = await deps.latestCheckpoint();
      return { checkpoints: latest === undefined ? [] : [latest] };
    },
  );
}
