/**
 * The `kerberos` credential the winrm connector receives, made as the kerberos backend
 * makes it: the broker's keytab, S4U2Self and S4U2Proxy against the real test KDC
 * (acquireServiceTicket), the KRB-CRED kept and the rest disposed; and the RunContext a
 * connector is run with, outside the session lifecycle.
 */
import { systemClock } from '../../src/base/clock.js';
import type { RunContext } from '../../src/connectors/connector.js';
import { acquireServiceTicket } from '../../src/kerberos/client/acquire.js';
import { readKeytab } from '../../src/kerberos/keytab.js';
import type { AcContext, KerberosCredential } from '../../src/credentials/types.js';
import type { Kdc } from './kdc.js';

/** alice's ticket to `spn` (default WSMAN/win1), labelled as the backend labels it. */
export async function kerberosCredential(
  kdc: Kdc,
  spn = 'WSMAN/win1.bastion.test',
  user = 'alice',
): Promise<KerberosCredential> {
  using keytab = readKeytab(kdc.broker.keytab);
  const st = await acquireServiceTicket(
    { keytab, broker: kdc.broker.principal, user: `${user}@${kdc.realm}`, spn },
    {
      kdcs: [kdc.kdcAddress],
      timeoutMs: 10_000,
      clock: systemClock,
      clockSkewMs: 60_000,
      windowMs: 5 * 60_000,
    },
  );
  st.sessionKey.dispose();
  const host = spn.split('/')[1] ?? '';
  return {
    type: 'kerberos',
    ticket: st.krbCred,
    clientPrincipal: st.client,
    servicePrincipal: st.spn,
    target: host,
    expiresAt: st.endTime,
    notBefore: st.startTime,
    scopedTo: st.spn,
    issuedBy: 'kerberos-test',
  };
}

export const LIMITS = { maxOutputBytes: 64 * 1024, timeoutMs: 60_000 };

/** A RunContext for `target` (no command policy: that is the session's, tested apart). */
export function runContext<Op>(
  credential: KerberosCredential,
  target: string,
  operation: Op,
  over: Partial<RunContext<Op>> = {},
): RunContext<Op> {
  const acContext: AcContext = {
    ac_id: 'ac-winrm',
    principal_did: 'did:key:test',
    capability_mask: 2,
    capabilities: ['exec'],
    accord_template: 'windows',
    connector: 'winrm',
    target,
    expires_at: Math.floor(Date.now() / 1000) + 600,
  };
  return {
    credential,
    target,
    operation,
    acContext,
    limits: LIMITS,
    signal: new AbortController().signal,
    ...over,
  };
}
