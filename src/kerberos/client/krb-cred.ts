/**
 * The service ticket and its session key as one KRB-CRED (RFC 4120 §5.8): the credential
 * the kerberos backend hands to a connector. The EncKrbCredPart travels with etype 0, its
 * DER in the clear inside the KRB-CRED — what MIT's krb5_rd_cred accepts without a key and
 * what GSS-API delegation (RFC 4121 §4.1.1) sends when there is no key to use — because the
 * handoff is in-process, between two holders of Secrets: the blob itself is a Secret, and
 * the plaintext DER of the part is zero-filled once the blob is built.
 */
import { Secret } from '../../credentials/secret.js';
import { encodeEncKrbCredPart, encodeKrbCred } from '../messages/krb-cred.js';
import { formatPrincipal } from '../principal.js';
import type { ServiceTicket } from './s4u.js';

/** RFC 4120 §5.8.1 leaves the unencrypted form to etype 0 ("null" encryption). */
export const KRB_CRED_ETYPE_NULL = 0;

export interface KerberosTicketCredential extends Disposable {
  /** The KRB-CRED DER: the ticket and, in the clear, its session key. */
  readonly krbCred: Secret;
  readonly sessionKey: Secret;
  readonly enctype: number;
  /** `alice@REALM` and `WSMAN/host@REALM`. */
  readonly client: string;
  readonly spn: string;
  readonly startTime: Date;
  readonly endTime: Date;
  /** Zero-fills the KRB-CRED and the session key. */
  dispose(): void;
}

/** Takes ownership of `st.sessionKey` (the credential's dispose() zero-fills it). */
export function toKrbCred(st: ServiceTicket): KerberosTicketCredential {
  const p = st.part;
  const partDer = encodeEncKrbCredPart({
    ticketInfo: [
      {
        key: { keytype: st.sessionKey.enctype, keyvalue: st.sessionKey.key },
        prealm: st.client.realm,
        pname: st.client.name,
        flags: p.flags,
        authtime: p.authtime,
        starttime: p.starttime,
        endtime: p.endtime,
        renewTill: p.renewTill,
        srealm: p.srealm,
        sname: p.sname,
      },
    ],
  });
  let krbCred: Secret;
  try {
    const cipher = partDer;
    const blob = encodeKrbCred({
      tickets: [st.ticket],
      encPart: { etype: KRB_CRED_ETYPE_NULL, cipher },
    });
    krbCred = Secret.adopt(blob);
  } finally {
    partDer.fill(0);
  }
  const dispose = (): void => {
    krbCred.dispose();
    st.sessionKey.key.dispose();
  };
  return {
    krbCred,
    sessionKey: st.sessionKey.key,
    enctype: st.sessionKey.enctype,
    client: formatPrincipal(st.client),
    spn: formatPrincipal(st.server),
    startTime: p.starttime ?? p.authtime,
    endTime: p.endtime,
    dispose,
    [Symbol.dispose]: dispose,
  };
}
