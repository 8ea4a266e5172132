/**
 * The replay ledger: what makes a grant single use on this instance. Each jti is kept from
 * its first use until the grant could no longer verify anyway.
 */
import { BasculeRefusalError, MAX_GRANT_LIFETIME_SECONDS } from './refusals.js';

/** Grants remembered at once; more than this many live grants at once is refused (503). */
const MAX_REMEMBERED_GRANTS = 100_000;
/** How often the runtime drops the jtis of grants that can no longer verify. */
export const SWEEP_INTERVAL_MS = 60_000;

/**
 * Single use: each grant jti is remembered from its first use until the grant could no
 * longer verify (its lifetime is at most 60 s from an iat at most `skew` ahead, plus the
 * skew on exp), so a replay always finds it. Full of live grants: refuse, never forget one.
 */
export class GrantLedger {
  readonly #seen = new Map<string, number>();
  readonly #rememberMs: number;

  constructor(skewMs: number) {
    this.#rememberMs = MAX_GRANT_LIFETIME_SECONDS * 1000 + 2 * skewMs;
  }

  /** Records `jti`; true when it was already used. */
  use(jti: string, now: number): boolean {
    const until = this.#seen.get(jti);
    if (until !== undefined && until > now) return true;
    if (this.#seen.size >= MAX_REMEMBERED_GRANTS) this.sweep(now);
    if (this.#seen.size >= MAX_REMEMBERED_GRANTS) throw new BasculeRefusalError('bascule_busy');
    this.#seen.set(jti, now + this.#rememberMs);
    return false;
  }

  sweep(now: number): void {
    for (const [jti, until] of this.#seen) if (until <= now) this.#seen.delete(jti);
  }
}
