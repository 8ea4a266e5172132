/**
 * Governance rules: issuing, approving, revoking and showing ACs. The HTTP routes and the
 * CLI call these methods with an already-verified caller (a DPoP proof's did:key) and
 * hold no rules of their own.
 *
 * Here are the rules and their order; what they are applied to and what they produce are
 * beside it: authorize.ts (an authorize request and the AC record it becomes), roles.ts
 * (what a caller is to an AC), claims.ts (an active AC's claims and signature), views.ts
 * (what callers are shown) and governance-errors.ts (the refusals); ac-cache.ts remembers
 * verified ACs, and is told here of what invalidates them (a revocation, a new policy).
 */
import type { AuditEvent, Auditor } from '../base/audit-records.js';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { commentText } from '../store/ac-row.js';
import {
  type AcRecord,
  REVOCATIONS_CHANNEL,
  type Store,
  type StoreEffect,
} from '../store/store.js';
import { type AcClaims, type VerifiedAc, signAc } from './ac.js';
import { VerifiedAcCache } from './ac-cache.js';
import { decide, type Decision, PolicyDeniedError } from './accords.js';
import {
  accessRequestOf,
  activeRecord,
  authorizeEvent,
  type AuthorizeInput,
  type AuthorizeResult,
  authorizeResult,
  denialEvent,
  holderOf,
  pendingRecord,
} from './authorize.js';
import { claimsFor, issuanceSigner, signClaims } from './claims.js';
import type { VerifiedProof } from './dpop.js';
import { GovernanceError } from './governance-errors.js';
import { LISTINGS } from './listing.js';
import type { Policy } from './policy.js';
import type { BrokerKeyring, PublicJwks } from './keyring.js';
import { type AcRoles, rolesOn } from './roles.js';
import {
  type AccordView,
  type AcStatus,
  acStatus,
  type AcView,
  acView,
  accordViews,
} from './views.js';

export interface GovernanceSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly skewMs: number;
  /** The accords and admins in force; replaced on reload, read at every decision. */
  readonly policy: Policy;
  /** How long a request may wait for approvals before it expires. */
  readonly approvalTtlMs: number;
}

/**
 * The audit log as issuance needs it: `effects` are stored in the commit that makes the
 * event durable (the AuditLog does so); an auditor that drops them stores no AC.
 */
export interface IssuingAuditor extends Auditor {
  append(event: AuditEvent, effects?: readonly StoreEffect[]): Promise<unknown>;
}

const notFound = (): GovernanceError => new GovernanceError('ac_not_found');

export class GovernanceService {
  readonly #store: Store;
  readonly #keyring: BrokerKeyring;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: IssuingAuditor;
  readonly #acs: VerifiedAcCache;
  readonly #onPending: ((record: AcRecord) => void) | undefined;
  /** The policy generation the cached ACs were verified under. */
  #policyGeneration: number;
  readonly settings: GovernanceSettings;

  constructor(deps: {
    audit: IssuingAuditor;
    store: Store;
    keyring: BrokerKeyring;
    clock: Clock;
    logger: Logger;
    settings: GovernanceSettings;
    /** A bounded cache by default; given by tests and benchmarks. */
    acCache?: VerifiedAcCache;
    /** Told of each request stored awaiting approval (notifications); must not throw. */
    onPending?: (record: AcRecord) => void;
  }) {
    this.#store = deps.store;
    this.#keyring = deps.keyring;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#audit = deps.audit;
    this.settings = deps.settings;
    this.#acs = deps.acCache ?? new VerifiedAcCache();
    this.#onPending = deps.onPending;
    this.#policyGeneration = deps.settings.policy.generation;
    // A retired key's ACs are verified afresh from now on (and cached again while it is
    // still in the verification set): no answer outlives the keyring it was given under.
    deps.keyring.onChange(({ retired }) => {
      for (const kid of retired) this.#acs.forgetKey(kid);
    });
  }

  async authorize(caller: VerifiedProof, input: AuthorizeInput): Promise<AuthorizeResult> {
    const now = this.#clock.now();
    const request = accessRequestOf(caller, input);
    const holder = await holderOf(caller, input);
    let decision: Decision;
    try {
      decision = decide(this.settings.policy.accords, request, new Date(now));
    } catch (err) {
      if (err instanceof PolicyDeniedError) {
        // The refusal stands whether or not it could be recorded.
        await this.#audit
          .append(denialEvent(caller, input, err.code))
          .catch((auditErr: unknown) =>
            this.#log.error({ err: auditErr }, 'audit write failed for a denial'),
          );
      }
      throw err;
    }
    const record = pendingRecord(caller, input, decision, holder, now);
    // An AC that needs no approval is stored active at once. Its row, its audit entry and
    // its key's use are one commit: no audit, no AC; nothing signed before it is durable.
    const immediate = decision.approvals_required === 0 ? this.#claimsFor(record, now) : undefined;
    const issuing = immediate && issuanceSigner(immediate, this.#keyring);
    const stored = immediate === undefined ? record : activeRecord(record, immediate, now);
    await this.#audit.append(authorizeEvent(caller, input, record), [
      { kind: 'insert_ac', record: stored },
      ...(issuing ? [issuing.effect] : []),
    ]);
    this.#log.info(
      {
        event: 'authorize',
        ac_id: record.ac_id,
        principal: caller.did,
        accord: record.accord,
        target: record.target,
      },
      decision.approvals_required > 0 ? 'access requested; awaiting approval' : 'access granted',
    );
    if (immediate === undefined) this.#onPending?.(record);
    if (immediate === undefined || issuing === undefined) return authorizeResult(record);
    return authorizeResult(record, {
      claims: immediate,
      token: await signAc(immediate, issuing.signer),
    });
  }

  /** `comment` is shown with the approval; never logged (it is the approver's text). */
  async approve(caller: VerifiedProof, acId: string, comment?: string): Promise<AcView> {
    const now = this.#clock.now();
    const { record, roles } = await this.#load(acId, caller);
    if (!roles.approver) {
      throw new GovernanceError('not_an_approver');
    }
    commentText(comment); // refused before its audit entry, not after
    if (caller.did === record.principal_did) {
      throw new GovernanceError('self_approval_not_allowed');
    }
    if (this.#status(record, now) !== 'pending_approval') {
      throw new GovernanceError('ac_not_pending');
    }
    await this.#audit.append({
      type: 'approve',
      actor: caller.did,
      principal: record.principal_did,
      ac_id: acId,
      connector: record.connector,
      target: record.target,
    });
    if (!(await this.#store.addApproval(acId, caller.did, now, comment))) {
      throw new GovernanceError('already_approved');
    }
    this.#log.info({ event: 'approve', ac_id: acId, approver: caller.did }, 'approval recorded');
    const approvals = await this.#store.listApprovals(acId);
    if (approvals.length >= record.approvals_required) {
      try {
        await this.#activate(record, now);
      } catch (err) {
        // A concurrent approval activated it first: that is the outcome wanted.
        if (!(err instanceof GovernanceError && err.code === 'ac_not_pending')) throw err;
      }
    }
    return this.show(caller, acId);
  }

  /**
   * An approver of the accord refuses a pending request, for good: it is `denied` and can
   * no longer be approved. The requester sees `comment`; the audit records its presence.
   */
  async deny(caller: VerifiedProof, acId: string, comment?: string): Promise<AcView> {
    const now = this.#clock.now();
    const { record, roles } = await this.#load(acId, caller);
    if (!roles.approver) throw new GovernanceError('not_allowed_to_deny');
    commentText(comment);
    if (this.#status(record, now) !== 'pending_approval') {
      throw new GovernanceError('ac_not_pending');
    }
    // Audit before the state change, as approve does: no denial without its entry.
    await this.#audit.append({
      type: 'deny',
      actor: caller.did,
      principal: record.principal_did,
      ac_id: acId,
      connector: record.connector,
      target: record.target,
      outcome: 'denied_by_approver',
      detail: { comment: comment !== undefined },
    });
    if (!(await this.#store.denyAc(acId, caller.did, now, comment))) {
      throw new GovernanceError('ac_not_pending');
    }
    this.#log.info({ event: 'deny', ac_id: acId, approver: caller.did }, 'request denied');
    return this.show(caller, acId);
  }

  async revoke(caller: VerifiedProof, acId: string): Promise<AcView> {
    const now = this.#clock.now();
    const { record, roles } = await this.#load(acId, caller);
    if (!roles.principal && !roles.holder && !roles.admin)
      throw new GovernanceError('not_allowed_to_revoke');
    // Keep the revocation at least as long as the AC could be valid, skew included.
    const until = Math.ceil(
      (record.expires_at ?? Math.floor(now / 1000) + record.duration_seconds) +
        this.settings.skewMs / 1000,
    );
    if (!(await this.#store.revokeAc(acId, caller.did, now, until))) {
      throw new GovernanceError('ac_already_revoked');
    }
    this.#acs.forgetAc(acId);
    this.#log.info(
      { event: 'revoke', ac_id: acId, by: caller.did },
      'authorization context revoked',
    );
    // Revoking is the safe direction: it stands even if the audit write fails.
    await this.#audit
      .append({
        type: 'revoke',
        actor: caller.did,
        principal: record.principal_did,
        ac_id: acId,
        connector: record.connector,
        target: record.target,
      })
      .catch((err: unknown) => this.#log.error({ err }, 'audit write failed for a revocation'));
    return this.show(caller, acId);
  }

  /**
   * Follows revocations made on any replica (REVOCATIONS_CHANNEL): each drops its AC from
   * this broker's cache, and a reconnection, after which some may have been lost, drops them
   * all. Revocation is still read from the store at every use: a lost one lets nothing in.
   */
  followRevocations(): Promise<() => Promise<void>> {
    return this.#store.subscribe(REVOCATIONS_CHANNEL, (acId) => {
      if (acId === undefined) this.#acs.clear();
      else this.#acs.forgetAc(acId);
    });
  }

  /** How many verified ACs this broker remembers (none of them a token). */
  get cachedAcs(): number {
    return this.#acs.size;
  }

  /** Status for the principal, the accord's approvers and admins; the token only for the principal. */
  async show(caller: VerifiedProof, acId: string): Promise<AcView> {
    const now = this.#clock.now();
    const { record, roles } = await this.#load(acId, caller);
    // Others learn nothing, not even that the id exists.
    if (!roles.principal && !roles.holder && !roles.admin && !roles.approver) throw notFound();
    const status = this.#status(record, now);
    const approvals = await this.#store.listApprovals(acId);
    const view = acView(record, status, approvals);
    // The token goes only to the key it is bound to, and only while it can be used.
    if (roles.holder && status === 'active' && record.claims !== undefined) {
      view.ac = await this.#sign(record.claims as unknown as AcClaims);
    }
    return view;
  }

  /** The caller's own ACs, or the requests awaiting its approval; no tokens (listing.ts). */
  list(caller: VerifiedProof, which: keyof typeof LISTINGS, limit?: number): Promise<AcView[]> {
    const { policy, approvalTtlMs } = this.settings;
    const listing = { store: this.#store, policy, now: this.#clock.now(), approvalTtlMs };
    return LISTINGS[which](listing, caller, limit);
  }

  /** The accords the caller may ask under, or be delegated an AC of: what an agent can request. */
  accordsFor(caller: VerifiedProof): AccordView[] {
    return accordViews(this.settings.policy.accords.values(), caller.did);
  }

  async jwks(): Promise<PublicJwks> {
    return this.#keyring.jwks(this.#store, this.#clock.now(), this.settings.skewMs);
  }

  /**
   * Verifies an AC (signature, claims, revocation) against the broker's current keys. An AC
   * verified before is not verified again: the cache re-checks its key, times and revocation.
   */
  async verify(token: unknown): Promise<VerifiedAc> {
    const now = this.#clock.now();
    // A reloaded policy drops every cached AC (the session re-checks each AC's accord anyway).
    const { generation } = this.settings.policy;
    if (generation !== this.#policyGeneration) {
      this.#acs.clear();
      this.#policyGeneration = generation;
    }
    return this.#acs.verify(token, {
      keys: await this.#keyring.verificationKeys(this.#store, now, this.settings.skewMs),
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      now,
      skewMs: this.settings.skewMs,
      isRevoked: (id) => this.#store.isRevoked(id),
    });
  }

  /** The AC and what the caller is to it; unknown ids are 404. */
  async #load(acId: string, caller: VerifiedProof): Promise<{ record: AcRecord; roles: AcRoles }> {
    const record = await this.#store.getAc(acId);
    if (record === undefined) throw notFound();
    const accord = this.settings.policy.accords.get(record.accord);
    return { record, roles: rolesOn(caller, record, this.settings.policy.admins, accord) };
  }

  #status(record: AcRecord, now: number): AcStatus {
    return acStatus(record, now, this.settings.approvalTtlMs);
  }

  async #activate(record: AcRecord, now: number): Promise<{ token: string; claims: AcClaims }> {
    const claims = this.#claimsFor(record, now);
    if (!(await this.#store.activateAc(record.ac_id, { ...claims }, claims.exp, now))) {
      throw new GovernanceError('ac_not_pending');
    }
    return { token: await this.#sign(claims), claims };
  }

  #claimsFor(record: AcRecord, now: number): AcClaims {
    return claimsFor(record, now, this.settings, this.settings.policy.accords.get(record.accord));
  }

  #sign(claims: AcClaims): Promise<string> {
    return signClaims(claims, this.#keyring, this.#store);
  }
}
