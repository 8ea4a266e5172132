/**
 * Reads MIT krb5kdc 1.20's log (test/helpers/kdc.ts) into requests, so tests can say what
 * the KDC saw: "S4U2Self then S4U2Proxy for alice to WSMAN/win1", or "S4U2Proxy refused:
 * UNSUPPORTED_S4U2PROXY_REQUEST". The KDC writes one line a request,
 *
 *   TGS_REQ (4 etypes {…}) 127.0.0.1: ISSUE: authtime 1796065670, etypes {rep=…}, CLIENT for SERVER
 *   TGS_REQ (…) 127.0.0.1: UNSUPPORTED_S4U2PROXY_REQUEST: authtime 0, etypes {rep=UNSUPPORTED:(0)} CLIENT for SERVER, MESSAGE
 *   AS_REQ (…) 127.0.0.1: CLIENT_NOT_FOUND: CLIENT for SERVER, MESSAGE
 *
 * and, after an S4U request, a second line naming the impersonated user:
 *
 *   ... PROTOCOL-TRANSITION s4u-client=alice@BASTION.TEST      (S4U2Self)
 *   ... CONSTRAINED-DELEGATION s4u-client=alice@BASTION.TEST   (S4U2Proxy; `<unknown>` when refused early)
 *
 * An S4U2Proxy refused for its evidence ticket (EVIDENCE_TKT_NOT_FORWARDABLE) has no second
 * line: it is an S4U2Proxy by its status, with no user.
 */

export type S4uKind = 's4u2self' | 's4u2proxy';

export interface KdcRequest {
  readonly request: 'AS_REQ' | 'TGS_REQ';
  /** `ISSUE` when a ticket was issued, else the KDC's reason (`UNSUPPORTED_S4U2PROXY_REQUEST`, …). */
  readonly status: string;
  /** The requesting principal (for S4U: the service, not the user). */
  readonly client: string;
  /** The requested service: the service itself for S4U2Self, the target SPN for S4U2Proxy. */
  readonly server: string;
  /** The KDC's message after a refusal. */
  readonly message?: string;
  readonly s4u?: S4uKind;
  /** The impersonated user, where the KDC names one. */
  readonly user?: string;
  /** The KDC's process id (a restarted KDC has another). */
  readonly pid: number;
}

const REQUEST =
  /krb5kdc\[(\d+)\]\(\w+\): (AS_REQ|TGS_REQ) \(.*?\) \S+: ([A-Z][A-Z0-9_]*): (?:authtime \d+, )?(?:etypes \{[^}]*\},? )?([^\s,]+) for ([^\s,]+)(?:, (.*))?$/;
const S4U =
  /krb5kdc\[(\d+)\]\(\w+\): \.\.\. (PROTOCOL-TRANSITION|CONSTRAINED-DELEGATION) s4u-client=(\S+)$/;
/** Refusals only an S4U2Proxy request can meet, whose line names no user. */
const PROXY_ONLY = new Set(['EVIDENCE_TKT_NOT_FORWARDABLE']);

export function parseKdcLog(text: string): KdcRequest[] {
  const requests: KdcRequest[] = [];
  // The second line of an S4U request follows its first from the same process.
  const lastOf = new Map<number, number>();
  for (const line of text.split('\n')) {
    const r = REQUEST.exec(line);
    if (r) {
      const [, pid, request, status, client, server, message] = r;
      const s4u: S4uKind | undefined = PROXY_ONLY.has(status ?? '') ? 's4u2proxy' : undefined;
      lastOf.set(Number(pid), requests.length);
      requests.push({
        request: request as KdcRequest['request'],
        status: status ?? '',
        client: client ?? '',
        server: server ?? '',
        pid: Number(pid),
        ...(message !== undefined ? { message } : {}),
        ...(s4u !== undefined ? { s4u } : {}),
      });
      continue;
    }
    const s = S4U.exec(line);
    const index = s ? lastOf.get(Number(s[1])) : undefined;
    if (s && index !== undefined) {
      const user = s[3] === '<unknown>' ? {} : { user: s[3] ?? '' };
      const kind: S4uKind = s[2] === 'PROTOCOL-TRANSITION' ? 's4u2self' : 's4u2proxy';
      requests[index] = { ...(requests[index] as KdcRequest), s4u: kind, ...user };
      lastOf.delete(Number(s[1]));
    }
  }
  return requests;
}

/** The S4U requests of a log, in order. */
export function s4uRequests(text: string): KdcRequest[] {
  return parseKdcLog(text).filter((r) => r.s4u !== undefined);
}

/** Removes the realm: `alice@BASTION.TEST` → `alice`. */
export const withoutRealm = (principal: string): string => principal.replace(/@[^@]*$/, '');

/**
 * True when the log shows, for `user` to `spn` (realms optional), an issued S4U2Self followed
 * by an issued S4U2Proxy, both asked by `service` when given: what a successful
 * constrained-delegation ticket acquisition leaves at the KDC.
 */
export function showsDelegation(
  text: string,
  want: { readonly user: string; readonly spn: string; readonly service?: string },
): boolean {
  const same = (a: string | undefined, b: string): boolean =>
    a !== undefined && withoutRealm(a) === withoutRealm(b);
  const byService = (r: KdcRequest): boolean =>
    want.service === undefined || same(r.client, want.service);
  const all = s4uRequests(text);
  const self = all.findIndex(
    (r) => r.s4u === 's4u2self' && r.status === 'ISSUE' && same(r.user, want.user) && byService(r),
  );
  return (
    self >= 0 &&
    all
      .slice(self + 1)
      .some(
        (r) =>
          r.s4u === 's4u2proxy' &&
          r.status === 'ISSUE' &&
          same(r.user, want.user) &&
          same(r.server, want.spn) &&
          byService(r),
      )
  );
}
