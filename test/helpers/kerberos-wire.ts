/**
 * TEST-ONLY: the Kerberos secrets of WinRM exchanges, recovered as the target host could —
 * from what a wire tap between the broker and the host saw, opened with the host's keytab.
 * From each `Authorization: Kerberos <AP-REQ>` it takes the service ticket (its DER), the
 * ticket's session key (decrypting the ticket with the host's key) and the authenticator's
 * subkey; from each `WWW-Authenticate: Kerberos <AP-REP>` the acceptor's subkey, which
 * message encryption then uses. The zero-credential proof looks for each of these in the
 * broker's files, logs, audit, responses and memory.
 */
import { decrypt } from '../../src/kerberos/crypto/cipher.js';
import type { KerberosKey } from '../../src/kerberos/crypto/enctypes.js';
import { TOK_ID, unframeKrb5 } from '../../src/kerberos/gss/framing.js';
import { readKeytab } from '../../src/kerberos/keytab.js';
import {
  decodeApRep,
  decodeApReq,
  decodeAuthenticator,
  decodeEncApRepPart,
} from '../../src/kerberos/messages/ap.js';
import { KEY_USAGE } from '../../src/kerberos/messages/constants.js';
import { decodeEncTicketPart, encodeTicket } from '../../src/kerberos/messages/ticket.js';
import { parsePrincipal } from '../../src/kerberos/principal.js';

export interface WireSecrets {
  /** The service tickets (DER), one per authentication. */
  readonly tickets: Buffer[];
  /** Each ticket's session key, at the ticket's index: with the ticket, what a client uses. */
  readonly sessionKeys: { readonly enctype: number; readonly key: Buffer }[];
  /** Their session keys, the authenticators' subkeys and the acceptor's subkeys. */
  readonly keys: Buffer[];
}

const AUTHORIZATION = /\r\nAuthorization: Kerberos ([A-Za-z0-9+/=]+)\r\n/gi;
const AUTHENTICATE = /\r\nWWW-Authenticate: Kerberos ([A-Za-z0-9+/=]+)\r\n/gi;

function tokensIn(bytes: Buffer, header: RegExp): Buffer[] {
  return [...bytes.toString('latin1').matchAll(header)].map((m) =>
    Buffer.from(m[1] ?? '', 'base64'),
  );
}

function openWith(key: KerberosKey, usage: number, cipher: Uint8Array): Buffer {
  const plain = decrypt(key, usage, cipher);
  try {
    return Buffer.from(plain.unsafeReveal());
  } finally {
    plain.dispose();
  }
}

/**
 * Every ticket and key of the `Kerberos`-scheme exchanges in `sent` (client → host) and
 * `received` (host → client), opened with `hostKeytab` (0600, the host's keys).
 */
export function wireSecrets(sent: Buffer, received: Buffer, hostKeytab: string): WireSecrets {
  using keytab = readKeytab(hostKeytab);
  const tickets: Buffer[] = [];
  const ticketKeys: WireSecrets['sessionKeys'] = [];
  const keys: Buffer[] = [];
  const sessionKeys: KerberosKey[] = [];
  for (const token of tokensIn(sent, AUTHORIZATION)) {
    const { tokId, message } = unframeKrb5(token);
    if (tokId !== TOK_ID.ap_req) continue;
    const apReq = decodeApReq(message);
    const ticket = apReq.ticket;
    tickets.push(encodeTicket(ticket));
    const service = parsePrincipal(`${ticket.sname.components.join('/')}@${ticket.realm}`);
    const hostKey = keytab.selectKey(service, ticket.encPart.etype, ticket.encPart.kvno);
    const part = decodeEncTicketPart(
      openWith(hostKey, KEY_USAGE.kdc_rep_ticket, ticket.encPart.cipher),
    );
    hostKey.key.dispose();
    const sessionKey = { enctype: part.key.keytype, key: part.key.keyvalue };
    sessionKeys.push(sessionKey);
    const keyBytes = Buffer.from(part.key.keyvalue.unsafeReveal());
    keys.push(keyBytes);
    ticketKeys.push({ enctype: sessionKey.enctype, key: keyBytes });
    const authenticator = decodeAuthenticator(
      openWith(sessionKey, KEY_USAGE.ap_req_authenticator, apReq.authenticator.cipher),
    );
    if (authenticator.subkey !== undefined) {
      keys.push(Buffer.from(authenticator.subkey.keyvalue.unsafeReveal()));
      authenticator.subkey.keyvalue.dispose();
    }
  }
  // An AP-REP opens under the session key of the AP-REQ it answers: try each.
  for (const token of tokensIn(received, AUTHENTICATE)) {
    const { tokId, message } = unframeKrb5(token);
    if (tokId !== TOK_ID.ap_rep) continue;
    const encPart = decodeApRep(message).encPart;
    for (const sessionKey of sessionKeys) {
      let plain: Buffer;
      try {
        plain = openWith(sessionKey, KEY_USAGE.ap_rep_enc_part, encPart.cipher);
      } catch {
        continue;
      }
      const subkey = decodeEncApRepPart(plain).subkey;
      if (subkey !== undefined) {
        keys.push(Buffer.from(subkey.keyvalue.unsafeReveal()));
        subkey.keyvalue.dispose();
      }
      break;
    }
  }
  for (const k of sessionKeys) k.key.dispose();
  return { tickets, sessionKeys: ticketKeys, keys };
}
