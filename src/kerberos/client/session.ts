/**
 * What every exchange of the Kerberos client shares: its options (the KDCs, the deadline,
 * the injected clock, the skew allowance, the usable window), the random nonce, the time
 * fields it sends, and the checks of a decrypted EncKDCRepPart — nonce, server name and
 * times — written once so AS and TGS replies are held to the same rules.
 */
import { randomInt } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import type { Clock } from '../../base/clock.js';
import type { EncKdcRepPart } from '../messages/kdc-rep.js';
import type { PrincipalName } from '../principal.js';
import type { KdcAddress } from './transport.js';

export interface KdcClientOptions {
  /** From the operator's configuration, tried in order (see transport.ts). */
  readonly kdcs: readonly KdcAddress[];
  /** Each exchange's limit, failover included. */
  readonly timeoutMs: number;
  /** The resolver's per-backend timeout or the caller's cancellation. */
  readonly signal?: AbortSignal | undefined;
  readonly clock: Clock;
  /** How far the KDC's clock may differ from ours when checking a reply's times. */
  readonly clockSkewMs: number;
  /** The longest a ticket may last (the usable window, ≤ 5 min): `till` and the check. */
  readonly windowMs: number;
}

/** RFC 4120 §5.4.1 leaves the nonce's range to the client; 31 bits stays positive everywhere. */
export const newNonce = (): number => randomInt(0, 2 ** 31);

/** Now as KerberosTime (whole seconds) and its microseconds (ctime/cusec, patimestamp/pausec). */
export function kerberosNow(clock: Clock): { readonly time: Date; readonly usec: number } {
  const ms = clock.now();
  return { time: new Date(Math.floor(ms / 1000) * 1000), usec: (ms % 1000) * 1000 };
}

/** The `till` of a request: now plus the window, whole seconds. */
export function tillOf(options: KdcClientOptions): Date {
  return new Date(Math.floor((options.clock.now() + options.windowMs) / 1000) * 1000);
}

export function sameName(a: PrincipalName, b: PrincipalName): boolean {
  return (
    a.components.length === b.components.length &&
    a.components.every((c, i) => c === b.components[i])
  );
}

function mismatch(what: string): BastionError {
  return new BastionError('kerberos_reply_mismatch', { details: [what] });
}

/**
 * Checks a decrypted reply part against the request: the nonce sent, the server asked
 * for, and times that hold now — started (within the skew), not ended, and ending no
 * later than the window allows (a KDC that ignored `till` is refused, not trusted).
 */
export function checkRepPart(
  part: EncKdcRepPart,
  want: {
    readonly nonce: number;
    readonly realm: string;
    readonly sname: PrincipalName;
    /** An AS reply: its authtime is the KDC's clock reading of now. */
    readonly authtimeIsNow?: boolean;
  },
  options: KdcClientOptions,
): void {
  if (part.nonce !== want.nonce) throw mismatch('nonce');
  if (part.srealm !== want.realm || !sameName(part.sname, want.sname)) throw mismatch('sname');
  const now = options.clock.now();
  // The broker needs no pre-authentication, so the AS exchange is where a clock far off
  // shows first, as the KDC's now against ours: say so, rather than that times are wrong.
  if (
    want.authtimeIsNow === true &&
    Math.abs(part.authtime.getTime() - now) > options.clockSkewMs
  ) {
    throw new BastionError('kerberos_clock_skew');
  }
  const start = (part.starttime ?? part.authtime).getTime();
  const end = part.endtime.getTime();
  const lifetimeOk =
    start <= now + options.clockSkewMs &&
    end > now - options.clockSkewMs &&
    end <= now + options.windowMs + options.clockSkewMs;
  if (!lifetimeOk) throw new BastionError('kerberos_ticket_lifetime');
}
