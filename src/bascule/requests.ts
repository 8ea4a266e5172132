/**
 * What the runtime learns of each request as it is judged (the grant's claims or jti, the
 * argv, whether the run started), and the audit entries written from it, each carrying the
 * grant's jti, AC id and principal as far as they are known.
 */
import type { FastifyRequest } from 'fastify';
import type { AcClaims } from '../governance/ac.js';
import type { BasculeAuditEvent, BasculeAuditLog } from './audit.js';

/** What is known of a request when it ends, for its audit entry. */
export interface RequestState {
  claims?: AcClaims;
  /** The jti of a grant that verified up to the single-use check. */
  jti?: string;
  argv?: readonly string[];
  /** exec_start was written: exec_end, not deny, closes this request's record. */
  started?: boolean;
}

export class RequestRecords {
  readonly #states = new WeakMap<FastifyRequest, RequestState>();
  readonly #audit: BasculeAuditLog;
  readonly #target: string;

  constructor(audit: BasculeAuditLog, target: string) {
    this.#audit = audit;
    this.#target = target;
  }

  stateOf(request: FastifyRequest): RequestState {
    let state = this.#states.get(request);
    if (state === undefined) {
      state = {};
      this.#states.set(request, state);
    }
    return state;
  }

  /** Appends `event` for `request` to the audit file. */
  record(request: FastifyRequest, event: BasculeAuditEvent): Promise<unknown> {
    const { claims, jti } = this.stateOf(request);
    return this.#audit.append({
      target: this.#target,
      ...(claims !== undefined
        ? { grant_jti: claims.jti, ac_id: claims.ac, principal: claims.ctx.principal_did }
        : { grant_jti: jti }),
      ...event,
    });
  }
}
