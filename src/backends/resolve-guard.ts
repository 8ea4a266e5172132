/**
 * The opening every backend's `resolve(type, target, ac, signal)` shares, in one place:
 * the credential type is one the backend issues, the target is one it takes under this AC,
 * the checks that need the AC pass (capabilities → scopes, its expiry), and a signal that
 * has already aborted stops the call. Each backend states its own rules as a
 * `ResolveGuard`; where backends differ on purpose (which reason an aborted signal gets,
 * and whether it is checked first), the guard says so rather than one rule for all.
 */
import {
  type BackendReason,
  BackendReasons,
  CredentialResolutionError,
} from '../credentials/errors.js';
import type { AcContext, CredentialType } from '../credentials/types.js';
import { targetMatches } from '../governance/targets.js';

export interface ResolveGuard<Prepared = void> {
  /** The types the backend issues; any other is an invalid request. */
  readonly types: readonly CredentialType[];
  /** Whether the backend takes `target` under this AC; if not, an invalid request. */
  readonly accepts?: (target: string, ac: AcContext) => boolean;
  /**
   * Checks that need the AC, after the type and target: throws a refusal, or returns what
   * the backend needs from them (the scopes to ask for, the time the call started).
   */
  readonly prepare?: (target: string, ac: AcContext) => Prepared;
  /**
   * An already-aborted signal: the reason it is refused with, and whether that is checked
   * before every other check (`first`) or after all of them (`last`).
   */
  readonly aborted: { readonly reason: BackendReason; readonly when: 'first' | 'last' };
}

/**
 * Runs a backend's opening checks in a fixed order: an aborted signal (when checked
 * first), the type, the target, `prepare`, an aborted signal (when checked last).
 * Throws a CredentialResolutionError; returns what `prepare` returned.
 */
export function guardResolve<Prepared>(
  guard: ResolveGuard<Prepared>,
  type: CredentialType,
  target: string,
  ac: AcContext,
  signal: AbortSignal | undefined,
): Prepared {
  const { reason, when } = guard.aborted;
  if (when === 'first' && signal?.aborted === true) {
    throw new CredentialResolutionError(reason);
  }
  if (!guard.types.includes(type) || guard.accepts?.(target, ac) === false) {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  const prepared = guard.prepare?.(target, ac) as Prepared;
  if (when === 'last' && signal?.aborted === true) {
    throw new CredentialResolutionError(reason);
  }
  return prepared;
}

/**
 * The `accepts` of a backend with an optional `targets` list: the AC names this target, and
 * the list (when configured) has a pattern matching it.
 */
export function acceptsTargets(
  patterns: readonly string[] | undefined,
): (target: string, ac: AcContext) => boolean {
  return (target, ac) =>
    ac.target === target &&
    (patterns === undefined || patterns.some((p) => targetMatches(p, target)));
}
