/**
 * Authenticating a principal's request to the broker's own API: a DPoP proof (RFC 9449)
 * for this method and URL, signed by the caller's did:key, counted against its rate limit.
 */
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../base/clock.js';
import { verifyDpopProof, type VerifiedProof } from '../governance/dpop.js';
import type { Store } from '../store/store.js';
import type { RateLimiter } from './rate-limit.js';

export type Authenticator = (request: FastifyRequest) => Promise<VerifiedProof>;

export function makeAuthenticator(deps: {
  store: Store;
  clock: Clock;
  skewMs: number;
  limiter: RateLimiter;
  /** The broker's public base URL (no trailing slash); `htu` is checked against it. */
  publicUrl: () => string;
}): Authenticator {
  return async (request) => {
    const path = request.url.split('?')[0] ?? '/';
    const proof = await verifyDpopProof(request.headers.dpop, {
      method: request.method,
      url: deps.publicUrl() + path,
      now: deps.clock.now(),
      skewMs: deps.skewMs,
      remember: (jkt, jti, expiresAt) => deps.store.rememberProof(jkt, jti, expiresAt),
    });
    deps.limiter.hit(proof.did);
    return proof;
  };
}
