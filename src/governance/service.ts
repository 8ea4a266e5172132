/**
 * Governance rules: issuing, approving, revoking and showing ACs. The HTTP routes and the
 * CLI call these methods with an already-verified caller (a DPoP proof's did:key) and
 * hold no rules of their own.
 */
import { randomUUID } from 'node:crypto';
import type { Auditor } from '../base/audit-records.js';
import type { Clock } from '../base/clock.js';
import { BastionError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { AcRecord, Store } from '../store/store.js';
import { type AcClaims, signAc, verifyAc, type VerifiedAc } from './ac.js';
import { type AccessRequest, type Accord, decide, PolicyDeniedError } from './accords.js';
import { jwkFromDid, thumbprint } from './did-key.js';
import type { VerifiedProof } from './dpop.js';
import type { BrokerKeyring, PublicJwks } from './keyring.js';

export interface GovernanceSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly skewMs: number;
  readonly admins: readonly string[];
  readonly accords: ReadonlyMap<string, Accord>;
  /** How long a request may wait for approvals before it expires. */
  readonly approvalTtlMs: number;
}

type GovernanceCode =
  | 'ac_not_found'
  | 'not_an_approver'
  | 'self_approval_not_allowed'
  | 'ac_not_pending'
  | 'already_approved'
  | 'not_allowed_to_revoke'
  | 'ac_already_revoked';

export class GovernanceError extends BastionError {
  declare readonly code: GovernanceCode;
  constructor(code: GovernanceCode) {
    super(code);
  }
}

const notFound = (): GovernanceError => new GovernanceError('ac_not_found');

export interface AccordView {
  id: string;
  /** `principal`: may request ACs; `delegate`: may hold ACs a principal delegates to it. */
  as: 'principal' | 'delegate';
  connectors: readonly string[];
  targets: readonly string[];
  capabilities: readonly string[];
  max_duration_seconds: number;
  approvals_required: number;
  commands?: { allow: readonly string[]; deny: readonly string[] };
  paths?: { allow: readonly string[]; deny: readonly string[] };
  delegates?: readonly string[];
}

export type AcStatus = 'pending_approval' | 'active' | 'expired' | 'revoked';

export interface AuthorizeInput {
  readonly accord: string;
  readonly connector: string;
  readonly target: string;
  readonly capabilities: string[];
  readonly duration_seconds: number;
  readonly justification?: string | undefined;
  /** Delegation: issue the AC for this agent did:key, acting for the caller. */
  readonly delegate_to?: string | undefined;
}

export type AuthorizeResult =
  | { status: 'active'; ac_id: string; ac: string; expires_at: string; capability_mask: number }
  | { status: 'pending_approval'; ac_id: string; approvals_required: number };

export interface AcView {
  ac_id: string;
  status: AcStatus;
  principal_did: string;
  accord: string;
  connector: string;
  target: string;
  capabilities: readonly string[];
  capability_mask: number;
  duration_seconds: number;
  approvals_required: number;
  approvals: { approver_did: string; approved_at: string }[];
  requested_at: string;
  expires_at?: string;
  revoked_at?: string;
  /** The token, only for its own principal and only while active. */
  ac?: string;
}

export class GovernanceService {
  readonly #store: Store;
  readonly #keyring: BrokerKeyring;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: Auditor;
  readonly settings: GovernanceSettings;

  constructor(deps: {
    audit: Auditor;
    store: Store;
    keyring: BrokerKeyring;
    clock: Clock;
    logger: Logger;
    settings: GovernanceSettings;
  }) {
    this.#store = deps.store;
    this.#keyring = deps.keyring;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#audit = deps.audit;
    this.settings = deps.settings;
  }

  async authorize(caller: VerifiedProof, input: AuthorizeInput): Promise<AuthorizeResult> {
    const now = this.#clock.now();
    const request: AccessRequest = {
      principal_did: caller.did,
      accord: input.accord,
      connector: input.connector,
      target: input.target,
      capabilities: input.capabilities,
      duration_seconds: input.duration_seconds,
      ...(input.delegate_to !== undefined ? { delegate_to: input.delegate_to } : {}),
    };
    // The AC is bound to the key that will present it: the agent's, when delegated.
    const holderJkt =
      input.delegate_to !== undefined
        ? await thumbprint(jwkFromDid(input.delegate_to))
        : caller.jkt;
    const act = input.delegate_to !== undefined ? { sub: input.delegate_to } : undefined;
    let decision: ReturnType<typeof decide>;
    try {
      decision = decide(this.settings.accords, request, new Date(now));
    } catch (err) {
      if (err instanceof PolicyDeniedError) {
        // The refusal stands whether or not it could be recorded.
        await this.#audit
          .append({
            type: 'deny',
            actor: caller.did,
            principal: caller.did,
            connector: input.connector,
            outcome: err.code,
            detail: { accord: input.accord },
          })
          .catch((auditErr: unknown) =>
            this.#log.error({ err: auditErr }, 'audit write failed for a denial'),
          );
      }
      throw err;
    }
    const record: AcRecord = {
      ac_id: randomUUID(),
      principal_did: caller.did,
      cnf_jkt: holderJkt,
      ...(act !== undefined ? { act } : {}),
      accord: decision.accord.id,
      connector: input.connector,
      target: decision.target,
      capabilities: decision.capabilities,
      capability_mask: decision.capability_mask,
      duration_seconds: decision.duration_seconds,
      justification: input.justification,
      approvals_required: decision.approvals_required,
      requested_at: now,
      state: 'pending_approval',
    };
    // Recorded before anything is stored or signed: no audit, no AC.
    await this.#audit.append({
      type: 'authorize',
      actor: caller.did,
      principal: caller.did,
      ac_id: record.ac_id,
      connector: record.connector,
      target: record.target,
      outcome: decision.approvals_required > 0 ? 'pending_approval' : 'active',
      detail: {
        accord: record.accord,
        capabilities: record.capabilities,
        duration_seconds: record.duration_seconds,
        ...(input.justification !== undefined ? { justification: input.justification } : {}),
        ...(act !== undefined ? { act } : {}),
      },
    });
    // An AC that needs no approval is stored active at once: one commit, not two.
    const immediate = decision.approvals_required === 0 ? this.#claimsFor(record, now) : undefined;
    await this.#store.insertAc(
      immediate === undefined
        ? record
        : {
            ...record,
            state: 'active',
            claims: { ...immediate },
            expires_at: immediate.exp,
            activated_at: now,
          },
    );
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
    if (immediate === undefined) {
      return {
        status: 'pending_approval',
        ac_id: record.ac_id,
        approvals_required: decision.approvals_required,
      };
    }
    const claims = immediate;
    const token = await this.#sign(claims);
    return {
      status: 'active',
      ac_id: record.ac_id,
      ac: token,
      expires_at: new Date(claims.exp * 1000).toISOString(),
      capability_mask: record.capability_mask,
    };
  }

  async approve(caller: VerifiedProof, acId: string): Promise<AcView> {
    const now = this.#clock.now();
    const { record, roles } = await this.#load(acId, caller);
    if (!roles.approver) {
      throw new GovernanceError('not_an_approver');
    }
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
    if (!(await this.#store.addApproval(acId, caller.did, now))) {
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

  /** Status for the principal, the accord's approvers and admins; the token only for the principal. */
  async show(caller: VerifiedProof, acId: string): Promise<AcView> {
    const now = this.#clock.now();
    const { record, roles } = await this.#load(acId, caller);
    // Others learn nothing, not even that the id exists.
    if (!roles.principal && !roles.holder && !roles.admin && !roles.approver) throw notFound();
    const status = this.#status(record, now);
    const approvals = await this.#store.listApprovals(acId);
    const view: AcView = {
      ac_id: record.ac_id,
      status,
      principal_did: record.principal_did,
      accord: record.accord,
      connector: record.connector,
      target: record.target,
      capabilities: record.capabilities,
      capability_mask: record.capability_mask,
      duration_seconds: record.duration_seconds,
      approvals_required: record.approvals_required,
      approvals: approvals.map((a) => ({
        approver_did: a.approver_did,
        approved_at: new Date(a.approved_at).toISOString(),
      })),
      requested_at: new Date(record.requested_at).toISOString(),
      ...(record.expires_at !== undefined
        ? { expires_at: new Date(record.expires_at * 1000).toISOString() }
        : {}),
      ...(record.revoked_at !== undefined
        ? { revoked_at: new Date(record.revoked_at).toISOString() }
        : {}),
    };
    // The token goes only to the key it is bound to, and only while it can be used.
    if (roles.holder && status === 'active' && record.claims !== undefined) {
      view.ac = await this.#sign(record.claims as unknown as AcClaims);
    }
    return view;
  }

  /** The accords the caller may ask under, or be delegated an AC of: what an agent can request. */
  accordsFor(caller: VerifiedProof): AccordView[] {
    const views: AccordView[] = [];
    for (const accord of this.settings.accords.values()) {
      const principal = accord.principals.includes(caller.did);
      const delegate = (accord.delegates ?? []).includes(caller.did);
      if (!principal && !delegate) continue;
      views.push({
        id: accord.id,
        as: principal ? 'principal' : 'delegate',
        connectors: accord.connectors,
        targets: accord.targets,
        capabilities: accord.capabilities,
        max_duration_seconds: accord.max_duration_seconds,
        approvals_required: accord.approvals.required,
        ...(accord.commands !== undefined ? { commands: accord.commands } : {}),
        ...(accord.paths !== undefined ? { paths: accord.paths } : {}),
        ...(principal && accord.delegates !== undefined ? { delegates: accord.delegates } : {}),
      });
    }
    return views;
  }

  async jwks(): Promise<PublicJwks> {
    return this.#keyring.jwks(this.#store, this.#clock.now(), this.settings.skewMs);
  }

  /** Verifies an AC (signature, claims, revocation) against the broker's current keys. */
  async verify(token: unknown): Promise<VerifiedAc> {
    const now = this.#clock.now();
    return verifyAc(token, {
      keys: await this.#keyring.verificationKeys(this.#store, now, this.settings.skewMs),
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      now,
      skewMs: this.settings.skewMs,
      isRevoked: (id) => this.#store.isRevoked(id),
    });
  }

  /** The AC and what the caller is to it; unknown ids are 404. */
  async #load(
    acId: string,
    caller: VerifiedProof,
  ): Promise<{
    record: AcRecord;
    roles: { principal: boolean; holder: boolean; admin: boolean; approver: boolean };
  }> {
    const record = await this.#store.getAc(acId);
    if (record === undefined) throw notFound();
    const accord = this.settings.accords.get(record.accord);
    return {
      record,
      roles: {
        principal: caller.did === record.principal_did,
        // The key the AC is bound to: the principal's, or its delegate agent's.
        holder: caller.jkt === record.cnf_jkt,
        admin:
          this.settings.admins.includes(caller.did) ||
          (accord?.admins.includes(caller.did) ?? false),
        approver: accord?.approvals.approvers.includes(caller.did) ?? false,
      },
    };
  }

  #status(record: AcRecord, now: number): AcStatus {
    if (record.state === 'revoked') return 'revoked';
    if (record.state === 'active')
      return (record.expires_at ?? 0) * 1000 <= now ? 'expired' : 'active';
    return record.requested_at + this.settings.approvalTtlMs <= now
      ? 'expired'
      : 'pending_approval';
  }

  async #activate(record: AcRecord, now: number): Promise<{ token: string; claims: AcClaims }> {
    const claims = this.#claimsFor(record, now);
    if (!(await this.#store.activateAc(record.ac_id, { ...claims }, claims.exp, now))) {
      throw new GovernanceError('ac_not_pending');
    }
    return { token: await this.#sign(claims), claims };
  }

  /** The claims an AC carries once active: validity starts at activation. */
  #claimsFor(record: AcRecord, now: number): AcClaims {
    const iat = Math.floor(now / 1000);
    const accord = this.settings.accords.get(record.accord);
    return {
      iss: this.settings.issuer,
      sub: record.principal_did,
      aud: this.settings.audience,
      jti: record.ac_id,
      iat,
      nbf: iat,
      exp: iat + record.duration_seconds,
      cnf: { jkt: record.cnf_jkt },
      ...(record.act !== undefined ? { act: record.act } : {}),
      ctx: {
        principal_did: record.principal_did,
        capability_mask: record.capability_mask,
        capabilities: record.capabilities,
        accord_template: record.accord,
        connector: record.connector,
        target: record.target,
        ...(accord?.commands !== undefined ? { commands: accord.commands } : {}),
        ...(accord?.ssh_login !== undefined ? { ssh_principals: [accord.ssh_login] } : {}),
        ...(accord?.paths !== undefined ? { paths: accord.paths } : {}),
      },
    };
  }

  async #sign(claims: AcClaims): Promise<string> {
    const signer = this.#keyring.signer;
    await this.#store.noteKeyUse(signer.kid, claims.exp);
    return signAc(claims, signer);
  }
}
