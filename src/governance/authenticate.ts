/**
 * Who is calling, decided once per request, for every route: a DPoP proof (RFC 9449) for
 * this method and URL, signed by the caller's did:key, remembered so it cannot be replayed,
 * and counted against the caller's rate limit. A route that acts under an AC also takes the
 * AC from `Authorization: DPoP <AC>`, verifies it, and requires the proof to be made with
 * the key the AC is bound to (`cnf.jkt`) and to bind the AC itself (`ath`). A key that no
 * accord and no admin list names is refused before anything is written. What passes is an
 * authenticated caller; nothing shaped like an HTTP request goes further in.
 */
import type { Clock } from '../base/clock.js';
import type { VerifiedAc } from './ac.js';
import { AuthenticationError, UnknownPrincipalError } from './auth-errors.js';
import { verifyDpopProof, type VerifiedProof } from './dpop.js';

/** What authentication reads of a request. */
export interface RequestProof {
  /** The `Authorization` header. */
  readonly authorization?: string | undefined;
  /** The `DPoP` header. */
  readonly dpop: string | string[] | undefined;
  readonly method: string;
  /** The URL the request was sent to, as the broker is reached (its public URL). */
  readonly url: string;
  /** The broker's public URL (the start of `url`): named when a proof's htu differs. */
  readonly base?: string | undefined;
}

export interface AuthenticatorDeps {
  readonly clock: Clock;
  readonly skewMs: number;
  /** Records a proof's jti for its key; false when it was already there (a replay). */
  readonly rememberProof: (jkt: string, jti: string, expiresAt: number) => Promise<boolean>;
  /** Counts a request against the principal's limit; throws (or rejects) when over it. */
  readonly rateLimit: (did: string) => void | Promise<void>;
  /** Signature, claims and revocation of an AC (GovernanceService.verify). */
  readonly verifyAc: (token: string) => Promise<VerifiedAc>;
  /** Whether the policy names the key with this thumbprint (Policy.knowsKey). */
  readonly knowsKey: (jkt: string) => boolean;
}

/** A caller acting under an AC: the proof's key is the one the AC is bound to. */
export interface AcHolder {
  readonly caller: VerifiedProof;
  readonly ac: VerifiedAc;
}

const DPOP_SCHEME = /^DPoP ([A-Za-z0-9_.-]+)$/i;

export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  /** The caller behind a DPoP proof. */
  async caller(request: RequestProof): Promise<VerifiedProof> {
    const proof = await this.#proof(request, {});
    await this.deps.rateLimit(proof.did);
    return proof;
  }

  /** The caller and the AC it acts under; the AC is checked before the proof. */
  async acHolder(request: RequestProof): Promise<AcHolder> {
    const token = DPOP_SCHEME.exec(request.authorization ?? '')?.[1];
    if (token === undefined) throw new AuthenticationError('ac_missing');
    const ac = await this.deps.verifyAc(token);
    const caller = await this.#proof(request, {
      accessToken: token,
      expectedJkt: ac.claims.cnf.jkt,
    });
    await this.deps.rateLimit(caller.did);
    return { caller, ac };
  }

  #proof(
    request: RequestProof,
    binding: { accessToken?: string; expectedJkt?: string },
  ): Promise<VerifiedProof> {
    return verifyDpopProof(request.dpop, {
      method: request.method,
      url: request.url,
      base: request.base,
      now: this.deps.clock.now(),
      skewMs: this.deps.skewMs,
      // The proof verified; before its jti is written anywhere, the key must be one the
      // policy names: a stranger's request leaves no durable trace.
      remember: (jkt, jti, expiresAt) => {
        if (!this.deps.knowsKey(jkt)) throw new UnknownPrincipalError();
        return this.deps.rememberProof(jkt, jti, expiresAt);
      },
      ...binding,
    });
  }
}
