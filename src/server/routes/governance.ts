/**
 * Governance routes: parse, authenticate (DPoP), call GovernanceService, reply. No rules.
 * Every body and reply has a JSON schema: requests are validated strictly (unknown fields
 * refused) and replies carry only the declared fields; the same schemas make /openapi.json.
 */
import type { FastifyInstance } from 'fastify';
import type { AuthorizeInput } from '../../governance/authorize.js';
import type { GovernanceService } from '../../governance/service.js';
import { callerOf } from '../authenticate.js';
import { dpopHeader, errorSchemas as errors } from './schemas.js';

export interface RouteDeps {
  service: GovernanceService;
}

const policySchema = {
  type: 'object',
  properties: {
    allow: { type: 'array', items: { type: 'string' } },
    deny: { type: 'array', items: { type: 'string' } },
  },
} as const;

const acId = { type: 'string', pattern: '^[0-9a-f-]{36}$' } as const;
const acIdParams = { type: 'object', properties: { ac_id: acId }, required: ['ac_id'] } as const;
/** An approver's optional comment on its decision: plain text, shown to the requester. */
const decisionBody = {
  type: 'object',
  additionalProperties: false,
  properties: { comment: { type: 'string', minLength: 1, maxLength: 500 } },
} as const;
type Decision = { Params: { ac_id: string }; Body: { comment?: string } };
/** A decision without a body (how approvals were always sent) is one without a comment. */
const emptyBodyIsNoComment = (request: { body: unknown }, _reply: unknown, done: () => void) => {
  request.body ??= {};
  done();
};
export const acView = {
  type: 'object',
  properties: {
    ac_id: { type: 'string' },
    status: {
      type: 'string',
      enum: ['pending_approval', 'active', 'expired', 'revoked', 'denied'],
    },
    principal_did: { type: 'string' },
    accord: { type: 'string' },
    connector: { type: 'string' },
    target: { type: 'string' },
    capabilities: { type: 'array', items: { type: 'string' } },
    capability_mask: { type: 'integer' },
    duration_seconds: { type: 'integer' },
    approvals_required: { type: 'integer' },
    approvals: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          approver_did: { type: 'string' },
          approved_at: { type: 'string', format: 'date-time' },
          comment: { type: 'string', description: "The approver's comment" },
        },
      },
    },
    requested_at: { type: 'string', format: 'date-time' },
    justification: {
      type: 'string',
      description: 'Why it was asked for, as the requester wrote it',
    },
    expires_at: { type: 'string', format: 'date-time' },
    revoked_at: { type: 'string', format: 'date-time' },
    denied_at: { type: 'string', format: 'date-time' },
    denied_by: { type: 'string', description: 'The approver who denied the request' },
    denial_comment: { type: 'string', description: "The denying approver's comment" },
    ac: { type: 'string', description: 'The AC (JWT), only for its principal while active' },
  },
  required: [
    'ac_id',
    'status',
    'principal_did',
    'accord',
    'connector',
    'target',
    'capabilities',
    'capability_mask',
  ],
} as const;

export function governanceRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { service } = deps;

  app.post<{ Body: AuthorizeInput }>(
    '/governance/authorize/',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'Request an authorization context (AC)',
        description:
          'The caller proves its did:key with a DPoP proof. 201 with the AC when the accord needs no approval, 202 when it does.',
        headers: dpopHeader,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accord', 'connector', 'target', 'capabilities', 'duration_seconds'],
          properties: {
            accord: { type: 'string', minLength: 1, maxLength: 64 },
            connector: { type: 'string', minLength: 1, maxLength: 32 },
            target: { type: 'string', minLength: 1, maxLength: 2048 },
            capabilities: {
              type: 'array',
              minItems: 1,
              maxItems: 16,
              items: { type: 'string', maxLength: 32 },
            },
            duration_seconds: { type: 'integer', minimum: 1, maximum: 31_536_000 },
            justification: { type: 'string', maxLength: 1024 },
            delegate_to: {
              type: 'string',
              pattern: '^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$',
              description:
                'Issue the AC for this agent did:key, acting for the caller (RFC 8693 act)',
            },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              ac: { type: 'string' },
              ac_id: { type: 'string' },
              status: { type: 'string', enum: ['active'] },
              expires_at: { type: 'string', format: 'date-time' },
              capability_mask: { type: 'integer' },
            },
            required: ['ac', 'ac_id', 'expires_at', 'capability_mask'],
          },
          202: {
            type: 'object',
            properties: {
              ac_id: { type: 'string' },
              status: { type: 'string', enum: ['pending_approval'] },
              approvals_required: { type: 'integer' },
            },
            required: ['ac_id', 'status'],
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const result = await service.authorize(callerOf(request), request.body);
      return reply.code(result.status === 'active' ? 201 : 202).send(result);
    },
  );

  // Approving and denying: the same caller, path family and optional comment.
  const decisions = [
    ['', 'Approve a pending AC (an approver of its accord)', 'approve'],
    ['/deny', 'Deny a pending AC for good (an approver of its accord)', 'deny'],
  ] as const;
  for (const [tail, summary, decide] of decisions) {
    app.post<Decision>(
      `/governance/approvals/:ac_id${tail}`,
      {
        config: { auth: 'proof' },
        schema: {
          summary,
          description: 'The body, optional, may carry a comment the requester will see.',
          headers: dpopHeader,
          params: acIdParams,
          body: decisionBody,
          response: { 200: acView, ...errors },
        },
        preValidation: emptyBodyIsNoComment,
      },
      async (request) =>
        service[decide](callerOf(request), request.params.ac_id, request.body.comment),
    );
  }

  app.post<{ Body: { ac_id: string } }>(
    '/governance/revoke/',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'Revoke an AC (its principal or an admin)',
        headers: dpopHeader,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ac_id'],
          properties: { ac_id: acId },
        },
        response: { 200: acView, ...errors },
      },
    },
    async (request) => service.revoke(callerOf(request), request.body.ac_id),
  );

  app.get<{ Params: { ac_id: string } }>(
    '/governance/acs/:ac_id',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'Status of an AC; the token itself only to its principal',
        headers: dpopHeader,
        params: acIdParams,
        response: { 200: acView, ...errors },
      },
    },
    async (request) => service.show(callerOf(request), request.params.ac_id),
  );

  app.get(
    '/governance/accords',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'The accords the caller may request under (or hold delegated ACs of)',
        headers: dpopHeader,
        response: {
          200: {
            type: 'object',
            properties: {
              accords: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    as: { type: 'string', enum: ['principal', 'delegate'] },
                    connectors: { type: 'array', items: { type: 'string' } },
                    targets: { type: 'array', items: { type: 'string' } },
                    capabilities: { type: 'array', items: { type: 'string' } },
                    max_duration_seconds: { type: 'integer' },
                    approvals_required: { type: 'integer' },
                    commands: policySchema,
                    paths: policySchema,
                    delegates: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    (request) => ({ accords: service.accordsFor(callerOf(request)) }),
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { auth: 'none' },
      schema: {
        summary: 'The public keys that verify ACs',
        response: {
          200: {
            type: 'object',
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    kty: { type: 'string' },
                    crv: { type: 'string' },
                    x: { type: 'string' },
                    kid: { type: 'string' },
                    alg: { type: 'string' },
                    use: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=60');
      return service.jwks();
    },
  );
}
