/**
 * What the operator maps in the spire backend's settings, read per invocation:
 * - which of the broker's SPIFFE IDs (its registration entries in SPIRE) an AC's principal
 *   acts as: the first `identities` rule naming the principal, else the backend's default;
 * - which audience a JWT-SVID for a target names: the first `audiences` rule whose target
 *   pattern matches, else the target itself (a URL is a valid audience as it stands).
 */
import type { AcContext } from '../../credentials/types.js';
import { targetMatches } from '../../governance/targets.js';

export interface IdentityRule {
  /** did:key principals, as AC `sub`s name them. */
  readonly principals: readonly string[];
  readonly spiffeId: string;
}

export interface AudienceRule {
  /** Canonical target patterns (governance/targets.ts). */
  readonly targets: readonly string[];
  /** A SPIFFE ID or URL. */
  readonly audience: string;
}

export function identityFor(
  rules: readonly IdentityRule[],
  fallback: string | undefined,
  ac: AcContext,
): string | undefined {
  return rules.find((rule) => rule.principals.includes(ac.principal_did))?.spiffeId ?? fallback;
}

export function audienceFor(rules: readonly AudienceRule[], target: string): string {
  const rule = rules.find((r) => r.targets.some((pattern) => targetMatches(pattern, target)));
  return rule?.audience ?? target;
}
