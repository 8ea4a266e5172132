/**
 * The whole acquisition, per invocation: the broker's TGT (AS with its keytab), S4U2Self
 * for the user, S4U2Proxy to the target SPN, and the result as a KRB-CRED. Every key but the
 * returned credential's is disposed before this returns, on every path: the TGT's session
 * key, the keytab key copies, the evidence ticket's session key. Nothing is cached between
 * calls — each invocation meets the KDC afresh, so a revoked user or a shortened delegation
 * list holds at the next call.
 */
import type { Keytab } from '../keytab.js';
import { NAME_TYPE, parsePrincipal, type Principal } from '../principal.js';
import { requestTgt } from './as.js';
import { toKrbCred, type KerberosTicketCredential } from './krb-cred.js';
import { s4u2proxy, s4u2self } from './s4u.js';
import type { KdcClientOptions } from './session.js';

export interface AcquireRequest {
  readonly keytab: Keytab;
  /** The broker's own principal, `HTTP/broker.example.test@EXAMPLE.TEST`. */
  readonly broker: string;
  /** The mapped user, `alice@EXAMPLE.TEST`. */
  readonly user: string;
  /** The target's SPN, without or with the realm: `WSMAN/host.example.test`. */
  readonly spn: string;
}

function spnPrincipal(spn: string, realm: string): Principal {
  const text = spn.includes('@') ? spn : `${spn}@${realm}`;
  return parsePrincipal(text, NAME_TYPE.srv_inst);
}

/** A service ticket for `user` to `spn` through constrained delegation, as a KRB-CRED. */
export async function acquireServiceTicket(
  request: AcquireRequest,
  options: KdcClientOptions,
): Promise<KerberosTicketCredential> {
  const broker = parsePrincipal(request.broker, NAME_TYPE.srv_inst);
  const user = parsePrincipal(request.user);
  const spn = spnPrincipal(request.spn, broker.realm);
  const tgt = await requestTgt(request.keytab, broker, options);
  try {
    const evidence = await s4u2self(tgt, user, options);
    return toKrbCred(await s4u2proxy(tgt, evidence, user, spn, options));
  } finally {
    tgt.dispose();
  }
}
