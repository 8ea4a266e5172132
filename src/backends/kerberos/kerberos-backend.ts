/**
 * The `kerberos` backend: per invocation, a service ticket for the Kerberos user the accord
 * maps the AC's principal to, to the target's SPN, through constrained delegation — the
 * broker's TGT from its keytab, S4U2Self for the user, S4U2Proxy to the SPN (the in-process
 * client, src/kerberos/client/). The result is a KRB-CRED in a Secret: the ticket and its
 * session key, for the connector's GSS-API initiator. Nothing is kept between invocations:
 * no TGT, no ticket (acquire.ts says why).
 *
 * Two refusals are the broker's own and come before any KDC traffic: a principal the accord
 * maps to no Kerberos user (`kerberos_principal_unmapped`), and a target whose SPN is not in
 * `delegate_to` (`kerberos_spn_not_delegated`) — the broker asks the KDC only for what the
 * operator listed, whatever the directory would allow. The KDC's refusals keep their codes.
 */
import { BastionError } from '../../base/errors.js';
import { type Clock, systemClock } from '../../base/clock.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { DEFAULT_BACKEND_TIMEOUT_MS, DEFAULT_MAX_TTL_MS } from '../../credentials/resolver.js';
import type {
  AcContext,
  CredentialOf,
  CredentialType,
  KerberosCredential,
} from '../../credentials/types.js';
import { targetHost } from '../../governance/targets.js';
import { acquireServiceTicket } from '../../kerberos/client/acquire.js';
import type { KdcAddress } from '../../kerberos/client/transport.js';
import type { Keytab } from '../../kerberos/keytab.js';
import { isUserPrincipalText } from '../../kerberos/principal.js';
import { acceptsTargets, guardResolve, type ResolveGuard } from '../resolve-guard.js';

/** MIT's and AD's default allowance for clocks that differ. */
export const DEFAULT_CLOCK_SKEW_MS = 300_000;
export const DEFAULT_SERVICE = 'WSMAN';

export interface KerberosBackendOptions {
  id?: string;
  /** The broker's own service principal, `HTTP/broker.example.test@EXAMPLE.TEST`. */
  principal: string;
  /** Its keys, read once at start; the backend disposes them on close(). */
  keytab: Keytab;
  /** Tried in order. */
  kdcs: readonly KdcAddress[];
  /** The SPNs (`service/host`) the broker may ask tickets to. */
  delegateTo: readonly string[];
  /** A target's SPN is `<service>/<host>` unless `spns` names it; default WSMAN. */
  service?: string;
  /** Canonical target host → its SPN, where it is not `<service>/<host>`. */
  spns?: ReadonlyMap<string, string>;
  /** The targets it issues for (canonical patterns); default every target. */
  targets?: readonly string[];
  /** Each KDC exchange's deadline, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number;
  /** How far the KDC's clock may be from ours when checking its replies; default 300 s. */
  clockSkewMs?: number;
  clock?: Clock;
}

interface Prepared {
  readonly user: string;
  readonly spn: string;
  readonly windowMs: number;
}

export class KerberosBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['kerberos'] as const;
  readonly timeoutMs: number;
  readonly #options: KerberosBackendOptions;
  readonly #clock: Clock;
  readonly #guard: ResolveGuard<Prepared>;

  constructor(options: KerberosBackendOptions) {
    this.id = options.id ?? 'kerberos';
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    const delegateTo = new Set(options.delegateTo);
    this.#guard = {
      types: this.supportedTypes,
      accepts: acceptsTargets(options.targets),
      prepare: (target, ac) => {
        const user = ac.kerberos_principal;
        if (user === undefined) throw new BastionError('kerberos_principal_unmapped');
        // Signed by the broker from its configuration; checked again all the same.
        if (!isUserPrincipalText(user)) throw new BastionError('kerberos_principal_invalid');
        const spn = this.#spnOf(target);
        if (spn === undefined)
          throw new CredentialResolutionError(BackendReasons.unsupportedTarget);
        if (!delegateTo.has(spn)) throw new BastionError('kerberos_spn_not_delegated');
        // At most the usable window, and never past the AC.
        const windowMs = Math.min(DEFAULT_MAX_TTL_MS, ac.expires_at * 1000 - this.#clock.now());
        if (!(windowMs >= 1000)) throw new CredentialResolutionError(BackendReasons.invalidRequest);
        return { user, spn, windowMs };
      },
      aborted: { reason: BackendReasons.unavailable, when: 'last' },
    };
  }

  /** The SPN of a canonical target: the `spns` entry for its host, else `<service>/<host>`. */
  #spnOf(target: string): string | undefined {
    const host = targetHost(target);
    if (host === undefined) return undefined;
    return this.#options.spns?.get(host) ?? `${this.#options.service ?? DEFAULT_SERVICE}/${host}`;
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
  ): Promise<CredentialOf<T>> {
    const { user, spn, windowMs } = guardResolve(this.#guard, type, target, ac, signal);
    const options = this.#options;
    const ticket = await acquireServiceTicket(
      { keytab: options.keytab, broker: options.principal, user, spn },
      {
        kdcs: options.kdcs,
        timeoutMs: this.timeoutMs,
        signal,
        clock: this.#clock,
        clockSkewMs: options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS,
        windowMs,
      },
    );
    // The KRB-CRED holds the session key itself: this second copy would outlive the
    // credential's dispose, so it goes now.
    ticket.sessionKey.dispose();
    const credential: KerberosCredential = {
      type: 'kerberos',
      target,
      issuedBy: this.id,
      ticket: ticket.krbCred,
      clientPrincipal: ticket.client,
      servicePrincipal: ticket.spn,
      // A KDC clock ahead of ours (within clock_skew, which the client allowed) starts the
      // ticket in our future; the target's allowance is the KDC's, so it is usable now —
      // reported so, not as a start the resolver's narrower skew would refuse.
      notBefore: new Date(Math.min(ticket.startTime.getTime(), this.#clock.now())),
      expiresAt: ticket.endTime,
      scopedTo: `Kerberos service ticket for ${ticket.client} to ${ticket.spn}`,
    };
    return credential as CredentialOf<T>;
  }

  /**
   * A Kerberos ticket cannot be revoked: the service accepts it until its end time, which the
   * broker asked to be at most the usable window. The resolver's discard zero-fills the
   * KRB-CRED (ticket and session key) after this. Never throws.
   */
  revoke(): Promise<void> {
    return Promise.resolve();
  }

  /** Zero-fills the keytab's keys: the broker's identity lives no longer than the backend. */
  close(): Promise<void> {
    this.#options.keytab.dispose();
    return Promise.resolve();
  }
}
