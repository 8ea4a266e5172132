/**
 * The probes a load balancer or an orchestrator polls, unauthenticated: `GET /healthz`
 * (liveness: 200 while the process serves) and `GET /readyz` (readiness: the store answers
 * a read, the AC signing key is loaded, and every credential type a backend serves has a
 * backend whose circuit is not open). A failed check is a 503 naming the check; the reply
 * holds states and counts only — no backend id, no error text, nothing secret.
 */
import type { FastifyInstance } from 'fastify';
import type { BackendHealth } from '../../credentials/health.js';

export interface ProbeDeps {
  /** A read of the store; rejects when it cannot answer. */
  storeRead: () => Promise<unknown>;
  /** Whether the AC signing key is loaded. */
  signingKey: () => boolean;
  backends: () => readonly BackendHealth[];
}

type CheckState = 'ok' | 'failed';

const state = { type: 'string', enum: ['ok', 'failed'] } as const;
const count = { type: 'integer', minimum: 0 } as const;

const readiness = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks', 'backends'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: {
      type: 'object',
      additionalProperties: false,
      required: ['store', 'signing_key', 'backends'],
      properties: {
        store: { ...state, description: 'The store answered a read' },
        signing_key: { ...state, description: 'The AC signing key is loaded' },
        backends: {
          ...state,
          description: 'Every credential type has a backend whose circuit is not open',
        },
      },
    },
    backends: {
      type: 'object',
      additionalProperties: false,
      required: ['total', 'closed', 'half_open', 'open'],
      properties: { total: count, closed: count, half_open: count, open: count },
      description: 'Credential backends by circuit state (GET /health/backends has details)',
    },
  },
} as const;

/** Failed when some credential type is served only by backends whose circuit is open. */
export function backendsCheck(backends: readonly BackendHealth[]): CheckState {
  const types = new Set(backends.flatMap((b) => b.types));
  for (const type of types) {
    const serving = backends.filter((b) => b.types.includes(type));
    if (serving.every((b) => b.state === 'open')) return 'failed';
  }
  return 'ok';
}

export function probeRoutes(app: FastifyInstance, deps: ProbeDeps): void {
  app.get(
    '/healthz',
    {
      config: { auth: 'none' },
      schema: {
        summary: 'Liveness: 200 while the broker serves',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['status'],
            properties: { status: { type: 'string', enum: ['ok'] } },
          },
        },
      },
    },
    () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      config: { auth: 'none' },
      schema: {
        summary: 'Readiness: the store, the signing key and the credential backends',
        response: { 200: readiness, 503: readiness },
      },
    },
    async (_request, reply) => {
      const store: CheckState = await deps.storeRead().then(
        () => 'ok',
        () => 'failed',
      );
      const backends = deps.backends();
      const checks = {
        store,
        signing_key: deps.signingKey() ? 'ok' : 'failed',
        backends: backendsCheck(backends),
      } as const;
      const ready = Object.values(checks).every((c) => c === 'ok');
      const by = (s: BackendHealth['state']): number =>
        backends.filter((b) => b.state === s).length;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not_ready',
        checks,
        backends: {
          total: backends.length,
          closed: by('closed'),
          half_open: by('half_open'),
          open: by('open'),
        },
      });
    },
  );
}
