/**
 * Verified ACs, remembered so that an AC used again costs a hash and a map lookup instead of
 * a strict parse and an Ed25519 verification (issue #13). An entry holds what the signature
 * and the claim checks established — the claims and the key that signed them — under the
 * SHA-256 of the token; the token itself is not kept. Only a token that passed every check
 * of `verifyAc` enters.
 *
 * What can change between two uses is checked again at every use, in verifyAc's order: the
 * signing key must still be in the verification set (else every entry it signed is dropped
 * and the token verified afresh, which refuses it), the time claims must hold now, and the
 * AC must not be revoked (read from the store, as on a first use). `forgetAc` (revocation),
 * `forgetKey` (a key retired, on this replica or another) and `clear` (a changed policy)
 * drop entries at once, and stop a verification still in flight from inserting what it
 * found before them.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  type AcClaims,
  checkAcTimes,
  MAX_AC_LENGTH,
  verifyAc,
  type VerifiedAc,
  type VerifyAcOptions,
} from './ac.js';
import { AuthenticationError } from './auth-errors.js';

/**
 * The bound, fixed rather than configured: an entry is one AC's claims (about 1.3 KB for an
 * SSH AC with a command policy, measured), so the cache stays under about 13 MB; 10,000
 * ACs in use at once is far beyond what a broker's accords issue within an AC's lifetime;
 * only verified ACs enter, so a stranger cannot fill it; and past the bound the least
 * recently used entry goes, which costs its next use one verification, never a refusal.
 */
export const AC_CACHE_ENTRIES = 10_000;

export type AcVerifier = (token: unknown, options: VerifyAcOptions) => Promise<VerifiedAc>;

interface Entry {
  readonly kid: string;
  readonly key: KeyObject;
  readonly claims: AcClaims;
}

export class VerifiedAcCache {
  /** In use order: the least recently used first. */
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #verify: AcVerifier;
  /** Moves at every invalidation: a verification begun before one does not insert. */
  #epoch = 0;

  constructor(options: { maxEntries?: number; verify?: AcVerifier } = {}) {
    this.#max = options.maxEntries ?? AC_CACHE_ENTRIES;
    this.#verify = options.verify ?? verifyAc;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `verifyAc`, with the result of a full verification remembered until the AC is refused. */
  async verify(token: unknown, options: VerifyAcOptions): Promise<VerifiedAc> {
    if (typeof token !== 'string' || token.length > MAX_AC_LENGTH) {
      return this.#verify(token, options);
    }
    const id = createHash('sha256').update(token).digest('base64url');
    const entry = this.#entries.get(id);
    if (entry !== undefined && this.#stillHolds(id, entry, options)) {
      return this.#hit(id, token, entry, options);
    }
    const epoch = this.#epoch;
    const verified = await this.#verify(token, options);
    const key = options.keys.get(verified.kid);
    if (epoch === this.#epoch && key !== undefined) {
      this.#insert(id, { kid: verified.kid, key, claims: frozen(verified.claims) });
    }
    return verified;
  }

  /** A revoked AC: every entry with this id goes. */
  forgetAc(jti: string): void {
    this.#drop((entry) => entry.claims.jti === jti);
  }

  /** A key no longer in the verification set: every entry it signed goes. */
  forgetKey(kid: string): void {
    this.#drop((entry) => entry.kid === kid);
  }

  /** The policy changed: everything goes. */
  clear(): void {
    this.#drop(() => true);
  }

  /** What the signature established still holds: the same key trusted, same issuer, audience. */
  #stillHolds(id: string, entry: Entry, options: VerifyAcOptions): boolean {
    const key = options.keys.get(entry.kid);
    if (key === undefined || !key.equals(entry.key)) {
      this.forgetKey(entry.kid);
      return false;
    }
    if (entry.claims.iss !== options.issuer || entry.claims.aud !== options.audience) {
      this.#entries.delete(id);
      return false;
    }
    return true;
  }

  /** A use of a remembered AC: the checks a signature cannot settle once and for all. */
  async #hit(
    id: string,
    token: string,
    entry: Entry,
    options: VerifyAcOptions,
  ): Promise<VerifiedAc> {
    // The most recently used now; it stays in while revocation is read, for concurrent uses.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    try {
      checkAcTimes(entry.claims, options.now, options.skewMs);
    } catch (err) {
      this.#entries.delete(id);
      throw err;
    }
    if (await options.isRevoked(entry.claims.jti)) {
      this.#entries.delete(id);
      throw new AuthenticationError('ac_revoked');
    }
    return { token, kid: entry.kid, claims: entry.claims };
  }

  #insert(id: string, entry: Entry): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#max) break;
      this.#entries.delete(oldest);
    }
  }

  #drop(matches: (entry: Entry) => boolean): void {
    this.#epoch += 1;
    for (const [id, entry] of this.#entries) if (matches(entry)) this.#entries.delete(id);
  }
}

/** Claims shared by every use of one AC: frozen, so no use can change what the next sees. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) frozen(member);
    Object.freeze(value);
  }
  return value;
}
