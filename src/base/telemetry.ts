/**
 * What the lifecycle, the resolver, the audit log and the store record for metrics and
 * traces: a narrow interface, so that those layers import neither prom-client nor
 * OpenTelemetry (the server implements it: server/telemetry.ts), and a no-op for when both
 * are off and for the code that runs outside a broker (tests, offline commands).
 *
 * Every label and span attribute is a bounded value by construction: a configured
 * backend or connector name, a catalog code, a value of a fixed set. No method takes a
 * DID, a target, a token or free text.
 */
import { BastionError } from './errors.js';

/** How an invocation ended, from a fixed set (the error code is a span attribute). */
export type InvocationOutcome = 'ok' | 'timed_out' | 'denied' | 'failed';

/** Where a rate limit refused a request: per principal, or per client address. */
export type RateLimitScope = 'principal' | 'address';

/** The lifecycle steps that are spans, below the request's own span. */
export type SpanStep =
  | 'authenticate'
  | 'verify_ac'
  | 'resolve_credential'
  | 'run_operation'
  | 'discard_credential'
  | 'audit_write';

/** The only attributes a span may carry (an allow-list: nothing else can be set). */
export interface SpanFacts {
  readonly connector?: string | undefined;
  readonly backend?: string | undefined;
  readonly outcome?: string | undefined;
  /** At most the first 12 characters of a credential's fingerprint. */
  readonly fingerprint_prefix?: string | undefined;
}

export type NoteFacts = (facts: SpanFacts) => void;

export interface Telemetry {
  invocation(connector: string, outcome: InvocationOutcome): void;
  /** One backend's answer in a resolution: `issued`, or its reason (a fixed vocabulary). */
  resolution(backend: string, reason: string): void;
  /** One durable audit write (group commit): how long, and how many entries it held. */
  auditWrite(seconds: number, entries: number): void;
  /** One store commit that fsynced (journal line and FULL commit), how long it took. */
  storeSync(seconds: number): void;
  rateLimited(scope: RateLimitScope): void;
  /**
   * Runs `fn` in a span named after `step`, a child of the current one; the span records
   * the error code (a catalog code, never a message) when `fn` throws.
   */
  span<T>(step: SpanStep, fn: (note: NoteFacts) => Promise<T>): Promise<T>;
}

const nothing = (): void => undefined;

export const noTelemetry: Telemetry = {
  invocation: nothing,
  resolution: nothing,
  auditWrite: nothing,
  storeSync: nothing,
  rateLimited: nothing,
  span: (_step, fn) => fn(nothing),
};

/** A thrown value as a bounded label: its catalog code, else `internal_error`. */
export function errorCodeOf(err: unknown): string {
  return err instanceof BastionError ? err.code : 'internal_error';
}

/** Seconds since `startNs` (process.hrtime.bigint()), for a histogram. */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}
