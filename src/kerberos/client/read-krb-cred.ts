/**
 * The inverse of toKrbCred (krb-cred.ts), for the connector that uses the kerberos
 * backend's credential: the KRB-CRED read back into the ticket, its session key, the
 * client and the service. Strict, because the blob crosses from a backend to a connector:
 * exactly one ticket, the EncKrbCredPart in the clear (etype 0) with exactly one
 * KrbCredInfo naming both principals, and that info's service equal to the ticket's.
 * The decoded plaintext copy of the part is zero-filled; the key comes back in a fresh
 * Secret the caller disposes.
 */
import { BastionError } from '../../base/errors.js';
import type { Secret } from '../../credentials/secret.js';
import { profileOfKey, type KerberosKey } from '../crypto/enctypes.js';
import { decodeEncKrbCredPart, decodeKrbCred, type KrbCredInfo } from '../messages/krb-cred.js';
import type { Ticket } from '../messages/ticket.js';
import { checkPrincipal, samePrincipal, type Principal } from '../principal.js';
import { KRB_CRED_ETYPE_NULL } from './krb-cred.js';

export interface ReadKrbCred {
  readonly ticket: Ticket;
  /** A fresh Secret: the caller disposes it. */
  readonly sessionKey: KerberosKey;
  readonly client: Principal;
  /** The service the ticket is for, `WSMAN/host@REALM`. */
  readonly spn: Principal;
}

function invalid(): BastionError {
  return new BastionError('kerberos_krb_cred_invalid');
}

/** The ticket, session key, client and service of a KRB-CRED made by toKrbCred. */
export function readKrbCred(blob: Secret): ReadKrbCred {
  const cred = blob.use((bytes) => decodeKrbCred(bytes));
  // The part's DER holds the session key: this copy is zero-filled whatever happens.
  const partDer = cred.encPart.cipher;
  let info: KrbCredInfo | undefined;
  try {
    const [ticket, ...more] = cred.tickets;
    if (
      ticket === undefined ||
      more.length !== 0 ||
      cred.encPart.etype !== KRB_CRED_ETYPE_NULL ||
      cred.encPart.kvno !== undefined
    ) {
      throw invalid();
    }
    const part = decodeEncKrbCredPart(partDer);
    const infos = part.ticketInfo;
    info = infos[0];
    for (const other of infos.slice(1)) other.key.keyvalue.dispose();
    if (info === undefined || infos.length !== 1) throw invalid();
    const { prealm, pname, srealm, sname } = info;
    if (prealm === undefined || pname === undefined || srealm === undefined || sname === undefined)
      throw invalid();
    let client: Principal;
    let spn: Principal;
    try {
      client = checkPrincipal({ name: pname, realm: prealm });
      spn = checkPrincipal({ name: sname, realm: srealm });
    } catch {
      throw invalid();
    }
    if (!samePrincipal(spn, { name: ticket.sname, realm: ticket.realm })) throw invalid();
    const sessionKey: KerberosKey = { enctype: info.key.keytype, key: info.key.keyvalue };
    profileOfKey(sessionKey);
    return { ticket, sessionKey, client, spn };
  } catch (err) {
    info?.key.keyvalue.dispose();
    throw err;
  } finally {
    partDer.fill(0);
  }
}
