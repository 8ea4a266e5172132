/**
 * The `bascule` backend: the `bascule_ac` credential is the authorization context itself
 * (seed: BasculeCredential), handed to the target as a **grant** — a token in the AC format,
 * signed by the broker's AC key, for one Bascule instance (`aud`), single use (the runtime
 * refuses a jti it has seen) and short-lived (60 s at most, never past the AC). Bascule
 * verifies it offline against the broker's JWKS. Revocation is its lifetime and single use,
 * so `revoke` only records the jti.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../base/clock.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import { BackendReasons } from '../../credentials/errors.js';
import { Secret } from '../../credentials/secret.js';
import type {
  AcContext,
  BasculeAcCredential,
  Credential,
  CredentialOf,
  CredentialType,
} from '../../credentials/types.js';
import type { AcSigner } from '../../base/signer.js';
import { type AcClaims, signAc } from '../../governance/ac.js';
import { guardResolve, type ResolveGuard } from '../resolve-guard.js';

export const BASCULE_GRANT_TTL_SECONDS = 60;

/** The audience of grants for the Bascule instance serving `target` (canonical name). */
export function basculeAudience(target: string): string {
  return `urn:bastion:bascule:${target}`;
}

export interface BasculeBackendOptions {
  /** The broker's current AC signer (its kid is in the JWKS Bascule fetches). */
  signer: () => AcSigner;
  issuer: string;
  clock?: Clock;
  id?: string;
}

export class BasculeBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['bascule_ac'] as const;
  /** Only for the Bascule connector; any refusal, an aborted signal too, is an invalid request. */
  readonly #guard: ResolveGuard = {
    types: this.supportedTypes,
    accepts: (_target, ac) => ac.connector === 'bascule',
    aborted: { reason: BackendReasons.invalidRequest, when: 'last' },
  };
  readonly #signer: () => AcSigner;
  readonly #issuer: string;
  readonly #clock: Clock;

  constructor(options: BasculeBackendOptions) {
    this.id = options.id ?? 'bascule';
    this.#signer = options.signer;
    this.#issuer = options.issuer;
    this.#clock = options.clock ?? systemClock;
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
  ): Promise<CredentialOf<T>> {
    guardResolve(this.#guard, type, target, ac, signal);
    const signer = this.#signer();
    const iat = Math.floor(this.#clock.now() / 1000);
    const exp = Math.min(iat + BASCULE_GRANT_TTL_SECONDS, ac.expires_at);
    const jti = randomUUID();
    const { ac_id: acId, expires_at: _expiresAt, ...ctx } = ac;
    const claims: AcClaims = {
      iss: this.#issuer,
      sub: ac.principal_did,
      aud: basculeAudience(target),
      jti,
      iat,
      nbf: iat,
      exp,
      // Bound to the broker's own key: the broker is the one presenting it.
      cnf: { jkt: signer.kid },
      ac: acId,
      ctx: { ...ctx, target },
    };
    const token = await signAc(claims, signer);
    const credential: BasculeAcCredential = {
      type: 'bascule_ac',
      target,
      authorizationContext: ac,
      token: Secret.fromString(token),
      notBefore: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
      scopedTo: `one command on Bascule ${target} under AC ${acId}`,
      issuedBy: this.id,
      id: jti,
    };
    return credential as CredentialOf<T>;
  }

  /** Single use and a 60-second life are the revocation; nothing to call. */
  revoke(_credential: Credential): Promise<void> {
    return Promise.resolve();
  }
}
