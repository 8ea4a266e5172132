/**
 * `GET /health/backends`: each credential backend's health and circuit breaker, for broker
 * admins only (who may see which backends exist and how they fail); anyone else gets
 * `admin_required`. The view is the resolver's, so the route, `RunningServer` and (later)
 * the metrics show one thing.
 */
import type { FastifyInstance } from 'fastify';
import { BastionError } from '../../base/errors.js';
import type { BackendHealth } from '../../credentials/health.js';
import { callerOf } from '../authenticate.js';
import { dpopHeader, errorSchemas } from './schemas.js';

export interface HealthRouteDeps {
  backends: () => readonly BackendHealth[];
  /** Whether `did` is a broker admin now (admins follow a reloaded configuration). */
  isAdmin: (did: string) => boolean;
}

const time = { type: ['string', 'null'], format: 'date-time' } as const;
const ms = { type: ['number', 'null'], minimum: 0 } as const;

const backendHealth = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'types',
    'state',
    'consecutive_failures',
    'last_success_at',
    'last_failure_at',
    'last_failure_reason',
    'failover',
    'latency_ms',
  ],
  properties: {
    id: { type: 'string' },
    types: { type: 'array', items: { type: 'string' } },
    state: {
      type: 'string',
      enum: ['closed', 'open', 'half_open'],
      description: 'open: skipped without being called until a probe succeeds',
    },
    consecutive_failures: { type: 'integer', minimum: 0 },
    last_success_at: { ...time, description: 'When it last issued an accepted credential' },
    last_failure_at: time,
    last_failure_reason: {
      type: ['string', 'null'],
      description: 'A reason from the fixed vocabulary, never the backend text',
    },
    failover: {
      type: 'object',
      additionalProperties: false,
      required: ['failures', 'open_seconds'],
      properties: {
        failures: { type: 'integer', minimum: 1 },
        open_seconds: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    latency_ms: {
      type: 'object',
      additionalProperties: false,
      required: ['last', 'p50', 'p95', 'samples'],
      properties: { last: ms, p50: ms, p95: ms, samples: { type: 'integer', minimum: 0 } },
    },
  },
} as const;

export function healthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  app.get(
    '/health/backends',
    {
      config: { auth: 'proof' },
      schema: {
        summary: 'Health and circuit state of each credential backend (broker admins only)',
        headers: dpopHeader,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['backends'],
            properties: { backends: { type: 'array', items: backendHealth } },
          },
          ...errorSchemas,
        },
      },
    },
    (request) => {
      if (!deps.isAdmin(callerOf(request).did)) throw new BastionError('admin_required');
      return { backends: deps.backends() };
    },
  );
}
