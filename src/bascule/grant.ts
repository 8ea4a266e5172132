/**
 * Grant verification: everything about the grant, judged before the body is read, each
 * refusal with its own code, in this order: a Bearer token present, verifyAc against the
 * broker's JWKS (a grant already used is `bascule_grant_replayed`), a lifetime of at most
 * 60 s, this instance as connector and target, the exec capability.
 */
import { type AcClaims, verifyAc } from '../governance/ac.js';
import { AuthenticationError } from '../governance/auth-errors.js';
import { hasCapabilities } from '../governance/capabilities.js';
import { jsonObjectOfSegment } from '../governance/strict-json.js';
import type { JwksCache } from './jwks.js';
import type { GrantLedger } from './ledger.js';
import type { BasculeSettings } from './options.js';
import { BasculeRefusalError, MAX_GRANT_LIFETIME_SECONDS } from './refusals.js';
import type { RequestState } from './requests.js';

/** This instance's grant settings, and where keys and used grants are kept. */
export interface GrantPolicy extends Pick<
  BasculeSettings,
  'name' | 'issuer' | 'audience' | 'skewMs' | 'clock'
> {
  readonly jwks: JwksCache;
  readonly ledger: GrantLedger;
}

const BEARER = /^Bearer +(\S+)$/i;

/** The kid an unverified grant names: only a hint for refreshing keys, never a decision. */
function kidHint(token: string): string | undefined {
  const header = token.split('.', 1)[0] ?? '';
  try {
    const kid = jsonObjectOfSegment(header)['kid'];
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

export class GrantVerifier {
  readonly #policy: GrantPolicy;

  constructor(policy: GrantPolicy) {
    this.#policy = policy;
  }

  /**
   * Judges the grant in an Authorization header; what it learns of the grant (its jti, then
   * its claims) goes into `state` as it goes, for the audit entry of a refusal.
   */
  async authenticate(header: unknown, state: RequestState): Promise<void> {
    const { name, issuer, audience, skewMs, clock, jwks, ledger } = this.#policy;
    const grant = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (grant === undefined) throw new BasculeRefusalError('bascule_grant_missing');
    const kid = kidHint(grant);
    const keys = kid === undefined ? await jwks.keys() : await jwks.keysForKid(kid);
    const now = clock.now();
    let claims: AcClaims;
    try {
      ({ claims } = await verifyAc(grant, {
        keys,
        issuer,
        audience,
        now,
        skewMs,
        isRevoked: (jti) => {
          // Reached only by a grant that verified in every other respect: worth auditing.
          state.jti = jti;
          return Promise.resolve(ledger.use(jti, now));
        },
      }));
    } catch (err) {
      // Here revocation is single use: the one way a grant is "revoked" is having been used.
      if (err instanceof AuthenticationError && err.code === 'ac_revoked')
        throw new BasculeRefusalError('bascule_grant_replayed');
      throw err;
    }
    state.claims = claims;
    if (claims.exp - claims.iat > MAX_GRANT_LIFETIME_SECONDS)
      throw new BasculeRefusalError('bascule_grant_lifetime');
    if (claims.ctx.connector !== 'bascule' || claims.ctx.target !== name)
      throw new BasculeRefusalError('bascule_wrong_target');
    if (!hasCapabilities(claims.ctx.capability_mask, ['exec']))
      throw new BasculeRefusalError('bascule_capability_missing');
  }
}
