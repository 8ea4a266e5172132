/**
 * `metrics:` and `tracing:`: whether and where the broker serves Prometheus metrics, and
 * whether it exports OpenTelemetry traces. Its own file so the schemas, defaults and the
 * normalised shapes of both sections sit together (README, "Metrics and traces").
 */
import { z } from 'zod';
import { CONTROL, checked } from '../base/fields.js';

export interface MetricsConfig {
  /** Default true: /metrics is served. */
  readonly enabled: boolean;
  /** Default /metrics. */
  readonly path: string;
  /**
   * A listener of its own (host:port) for the metrics, instead of the API's: Prometheus
   * reaches it, API clients do not, and the API's listener serves no metrics at all.
   */
  readonly listen?: { host: string; port: number } | undefined;
}

export interface TracingConfig {
  /** Where spans are sent, OTLP over HTTP (JSON): e.g. http://127.0.0.1:4318/v1/traces. */
  readonly otlp_endpoint: string;
  /** The service.name resource attribute; default bastion. */
  readonly service_name: string;
}

export const METRICS_DEFAULTS: MetricsConfig = { enabled: true, path: '/metrics' };

const PATH_PATTERN = /^\/[a-z0-9_-]{1,32}(\/[a-z0-9_-]{1,32}){0,3}$/;
const SERVICE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const otlpUrl = checked((value) => {
  const why = 'must be an http or https URL without credentials, query or fragment';
  if (typeof value !== 'string' || CONTROL.test(value)) return { ok: false, why };
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, why };
    if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') {
      return { ok: false, why };
    }
    return { ok: true, value: u.toString() };
  } catch {
    return { ok: false, why };
  }
});

/** `listen` is the API's own host:port field (config.ts), reused for `metrics.listen`. */
export const metricsSchema = (listen: z.ZodType<{ host: string; port: number }>) =>
  z
    .strictObject(
      {
        enabled: z.boolean({ error: 'must be true or false' }).optional(),
        path: z
          .string()
          .regex(PATH_PATTERN, { error: 'must be a path like /metrics (a-z, 0-9, _ and -)' })
          .optional(),
        listen: listen.optional(),
      },
      { error: 'must be a mapping' },
    )
    .transform((raw): MetricsConfig => ({
      enabled: raw.enabled ?? METRICS_DEFAULTS.enabled,
      path: raw.path ?? METRICS_DEFAULTS.path,
      ...(raw.listen !== undefined ? { listen: raw.listen } : {}),
    }));

export const tracingSchema = z
  .strictObject(
    {
      otlp_endpoint: otlpUrl,
      service_name: z
        .string()
        .regex(SERVICE_PATTERN, { error: 'must be 1-64 of A-Z, a-z, 0-9, ., _ and -' })
        .optional(),
    },
    { error: 'must be a mapping with otlp_endpoint' },
  )
  .transform((raw): TracingConfig => ({
    otlp_endpoint: raw.otlp_endpoint,
    service_name: raw.service_name ?? 'bastion',
  }));
