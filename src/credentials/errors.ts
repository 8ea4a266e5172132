/**
 * Credential-resolution errors (seed: NoBackendAvailable, CredentialResolutionError).
 * Messages name credential types (an allow-listed enum) and backend ids (checked at
 * registration); never a backend's own error text, which may quote a secret.
 */
import { BastionError } from '../base/errors.js';
import type { CredentialType } from './types.js';

/** No registered backend supports the requested credential type. */
export class NoBackendAvailable extends BastionError {
  readonly credentialType: CredentialType;

  constructor(credentialType: CredentialType) {
    super('no_backend_available', { details: [credentialType] });
    this.credentialType = credentialType;
  }
}

/** One backend's failure, as the resolver records it: a backend id and a reason code. */
export interface BackendAttempt {
  readonly backend: string;
  readonly reason: string;
  /**
   * The backend's own error code, when it raised one of the catalog's (`kerberos_clock_skew`):
   * a stable code with a fixed message, so safe to return; what the operator acts on.
   */
  readonly code?: string;
}

/** Reasons a backend may give for not issuing; a fixed vocabulary, safe to log and return. */
export const BackendReasons = {
  failed: 'backend_error',
  unavailable: 'backend_unavailable',
  denied: 'backend_denied',
  invalidRequest: 'invalid_credential_request',
  misconfigured: 'backend_misconfigured',
  unsupportedTarget: 'unsupported_target',
} as const;
export type BackendReason = (typeof BackendReasons)[keyof typeof BackendReasons];
const BACKEND_REASONS = new Set<string>(Object.values(BackendReasons));

/**
 * A backend could not issue a credential. Backends throw it with a reason from
 * `BackendReasons`; the resolver throws it, with every attempt listed, when all capable
 * backends failed. The code is always `credential_resolution_failed`.
 */
export class CredentialResolutionError extends BastionError {
  readonly reason: BackendReason;
  readonly attempts: readonly BackendAttempt[];

  constructor(
    reason: BackendReason = BackendReasons.failed,
    attempts: readonly BackendAttempt[] = [],
  ) {
    // A reason outside the vocabulary could be anything, a secret included.
    const known = BACKEND_REASONS.has(reason) ? reason : BackendReasons.failed;
    super('credential_resolution_failed', { details: [describe(known, attempts)] });
    this.reason = known;
    this.attempts = attempts;
  }

  override toJSON(): { code: string; message: string; attempts: readonly BackendAttempt[] } {
    return { ...super.toJSON(), attempts: this.attempts };
  }
}

/** The attempts, or (a backend's own refusal, before the resolver lists them) its reason. */
function describe(reason: BackendReason, attempts: readonly BackendAttempt[]): string {
  if (attempts.length === 0) return reason;
  return attempts
    .map((a) => `${a.backend} (${a.reason}${a.code !== undefined ? `: ${a.code}` : ''})`)
    .join(', ');
}

/** Why the resolver refused a credential a backend returned; a fixed vocabulary. */
export const RejectReasons = {
  malformed: 'malformed_credential',
  missingExpiresAt: 'missing_expires_at',
  invalidExpiresAt: 'invalid_expires_at',
  invalidNotBefore: 'invalid_not_before',
  notYetValid: 'not_yet_valid',
  expired: 'expired',
  belowMinWindow: 'below_min_window',
  exceedsMaxTtl: 'exceeds_max_ttl',
  typeMismatch: 'type_mismatch',
  targetMismatch: 'target_mismatch',
  issuerMismatch: 'issuer_mismatch',
  keyMismatch: 'certificate_key_mismatch',
  bindingMismatch: 'certificate_binding_mismatch',
  timeout: 'timeout',
  aborted: 'aborted',
} as const;
export type RejectReason = (typeof RejectReasons)[keyof typeof RejectReasons];

/**
 * A backend's failure as a reason of our vocabulary and, when it raised a catalog error of
 * its own, that code (fixed text: safe to log and return). The code's HTTP status says
 * what kind of failure it was: a refusal (403: the backend answered, it is up), a request
 * it does not take (400), an issuer out of reach (503, 504); anything else is an error.
 */
export function outcomeOf(err: unknown): { reason: string; code?: string } {
  if (err instanceof CredentialResolutionError) return { reason: err.reason };
  if (!(err instanceof BastionError)) return { reason: BackendReasons.failed };
  const reason =
    err.status === 403
      ? BackendReasons.denied
      : err.status === 400
        ? BackendReasons.invalidRequest
        : err.status === 503 || err.status === 504
          ? BackendReasons.unavailable
          : BackendReasons.failed;
  return { reason, code: err.code };
}
