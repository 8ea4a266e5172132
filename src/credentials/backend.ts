/**
 * The secrets-backend contract (seed: CredentialBackend). Small on purpose: a backend
 * issues, and revokes best-effort; the resolver enforces every invariant around it.
 */
import type { CredentialBinding } from './binding.js';
import type { AcContext, Credential, CredentialOf, CredentialType } from './types.js';

export interface CredentialBackend {
  /** Stable id, e.g. `dev` or `vault-east`; credentials name it in `issuedBy`. */
  readonly id: string;
  readonly supportedTypes: readonly CredentialType[];
  /**
   * True when the issuer cannot shorten a credential's lifetime (Entra tokens, AWS STS's
   * 15-minute floor): the resolver then clamps the usable window to its max TTL and marks
   * the credential must-revoke instead of rejecting it.
   */
  readonly issuerCannotShortenLifetime?: boolean;
  /** Per-backend timeout in ms, overriding the resolver's default. */
  readonly timeoutMs?: number;
  /**
   * Issues a short-lived credential scoped to `target`, or throws (ideally a
   * CredentialResolutionError with a reason). `signal` aborts when the resolver gives up.
   * `binding`, when given, is what the credential must be bound to (an SSH certificate's
   * forced command and source addresses: `sshCertificateBinding`); a backend that issues
   * that type must honour it or refuse.
   */
  resolve<T extends CredentialType>(
    type: T,
    target: string,
    acContext: AcContext,
    signal?: AbortSignal,
    binding?: CredentialBinding,
  ): Promise<CredentialOf<T>>;
  /** Best-effort revocation before natural expiry. Must not throw. */
  revoke(credential: Credential): Promise<void>;
  /** Releases what the backend holds (pools, timers, its own token); called once, at shutdown. */
  close?(): Promise<void>;
}

export const BACKEND_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
