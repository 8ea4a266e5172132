/**
 * The resolve opening both OAuth backends (token exchange, Entra on-behalf-of) share, as
 * a `ResolveGuard`: an `oauth` credential, for exactly the AC's target, which must be an
 * RFC 8707 resource indicator; scopes from the AC's capabilities; an AC not yet expired;
 * and an already-aborted signal refused as `backend_unavailable`, after all of those.
 */
import type { Clock } from '../../base/clock.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import type { ResolveGuard } from '../resolve-guard.js';
import { scopesOf } from './scopes.js';

/** What the opening hands the backend: the scopes to ask for, and when the call started. */
export interface OAuthRequest {
  readonly scopes: string[];
  /** Epoch ms, from the backend's clock. */
  readonly started: number;
}

/** An RFC 8707 resource indicator: an absolute URI without a fragment. */
export function isResourceIndicator(target: string): boolean {
  if (target.length > 2048 || target.includes('#')) return false;
  try {
    return new URL(target).protocol.length > 1;
  } catch {
    return false;
  }
}

export function oauthGuard(
  scopesFor: (capabilities: readonly string[], target: string) => string[],
  clock: Clock,
): ResolveGuard<OAuthRequest> {
  return {
    types: ['oauth'],
    accepts: (target, ac) => ac.target === target && isResourceIndicator(target),
    prepare: (target, ac) => {
      const scopes = scopesOf(scopesFor, ac.capabilities, target);
      const started = clock.now();
      if (!(ac.expires_at * 1000 > started)) {
        throw new CredentialResolutionError(BackendReasons.invalidRequest);
      }
      return { scopes, started };
    },
    aborted: { reason: BackendReasons.unavailable, when: 'last' },
  };
}
