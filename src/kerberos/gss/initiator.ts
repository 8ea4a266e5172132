/**
 * The Kerberos GSS-API initiator (RFC 4121 §4.1): one AP-REQ with mutual-required, whose
 * Authenticator (key usage 11, under the ticket's session key) carries RFC 1964 §1.1.1's
 * 0x8003 checksum (channel bindings, flags mutual|replay|sequence|conf|integ), a fresh
 * subkey and a random sequence number; framed as a krb5 token (scheme `Kerberos`) or inside
 * SPNEGO's NegTokenInit (`Negotiate`). `finish` checks the acceptor's AP-REP: it must
 * decrypt under the session key (usage 12) and echo the authenticator's ctime and cusec —
 * proof that the acceptor holds the service key the ticket was issued for, i.e. that it is
 * the target host. Only then is a `GssSession` returned; nothing is trusted unchecked.
 */
import { randomInt } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import { decrypt, encrypt } from '../crypto/cipher.js';
import { profileOfKey, type KerberosKey } from '../crypto/enctypes.js';
import { generateKey } from '../crypto/string-to-key.js';
import {
  decodeApRep,
  decodeEncApRepPart,
  encodeApReq,
  encodeAuthenticator,
  type EncApRepPart,
} from '../messages/ap.js';
import { AP_OPTION, KEY_USAGE } from '../messages/constants.js';
import { decodeTicket, type Ticket } from '../messages/ticket.js';
import type { Principal } from '../principal.js';
import {
  NEG_STATE,
  OID,
  TOK_ID,
  frameKrb5,
  readNegTokenResp,
  spnegoInit,
  unframeKrb5,
} from './framing.js';
import { GssSession } from './session.js';

/** The HTTP authentication schemes WinRM speaks Kerberos under. */
export type GssScheme = 'Negotiate' | 'Kerberos';

/** RFC 1964 §1.1.1 / RFC 4121 §4.1.1. */
export const GSS_CHECKSUM_TYPE = 0x8003;
export const GSS_FLAG = { deleg: 1, mutual: 2, replay: 4, sequence: 8, conf: 16, integ: 32 };
const REQUESTED_FLAGS =
  GSS_FLAG.mutual | GSS_FLAG.replay | GSS_FLAG.sequence | GSS_FLAG.conf | GSS_FLAG.integ;

export interface InitiatorInput {
  /** The service ticket to the target (its DER, or decoded). */
  readonly ticket: Ticket | Uint8Array;
  /** The ticket's session key; the caller keeps ownership (this module never disposes it). */
  readonly sessionKey: KerberosKey;
  readonly client: Principal;
  /** The MD5 of the channel bindings (16 bytes); zeros (no bindings) by default. */
  readonly channelBindingHash?: Uint8Array;
  /** The authenticator's time; the clock's by default. */
  readonly now?: Date;
}

export interface PendingContext {
  /** The token for `Authorization: <scheme> <base64>`. */
  readonly token: Buffer;
  /** Checks the acceptor's reply token and returns the established context. */
  finish(reply: Uint8Array | undefined): GssSession;
  /** Zero-fills the subkey when the context is abandoned. */
  dispose(): void;
}

function gssChecksum(bindingHash: Uint8Array | undefined): Buffer {
  const out = Buffer.alloc(24);
  out.writeUInt32LE(16, 0);
  if (bindingHash !== undefined) {
    if (bindingHash.byteLength !== 16) throw new BastionError('kerberos_context_state');
    out.set(bindingHash, 4);
  }
  out.writeUInt32LE(REQUESTED_FLAGS, 20);
  return out;
}

/** Starts a context: builds the AP-REQ token for `scheme`. */
export function initiateContext(input: InitiatorInput, scheme: GssScheme): PendingContext {
  profileOfKey(input.sessionKey);
  const ticket = input.ticket instanceof Uint8Array ? decodeTicket(input.ticket) : input.ticket;
  const subkey = generateKey(input.sessionKey.enctype);
  const sequence = randomInt(0, 2 ** 31);
  const nowMs = (input.now ?? new Date()).getTime();
  const ctime = new Date(Math.floor(nowMs / 1000) * 1000);
  const cusec = (nowMs % 1000) * 1000 + randomInt(0, 1000);
  const authenticator = encodeAuthenticator({
    crealm: input.client.realm,
    cname: input.client.name,
    cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: gssChecksum(input.channelBindingHash) },
    cusec,
    ctime,
    subkey: { keytype: subkey.enctype, keyvalue: subkey.key },
    seqNumber: sequence,
  });
  let cipher: Buffer;
  try {
    cipher = encrypt(input.sessionKey, KEY_USAGE.ap_req_authenticator, authenticator);
  } finally {
    authenticator.fill(0); // it holds the subkey
  }
  const apReq = encodeApReq({
    apOptions: AP_OPTION.mutual_required,
    ticket,
    authenticator: { etype: input.sessionKey.enctype, cipher },
  });
  const krb5 = frameKrb5(TOK_ID.ap_req, apReq);
  let done = false;
  return {
    token: scheme === 'Negotiate' ? spnegoInit(krb5) : krb5,
    finish(reply) {
      if (done) throw new BastionError('kerberos_context_state');
      done = true;
      let part: EncApRepPart | undefined;
      try {
        part = readApRep(input.sessionKey, mechReply(scheme, reply));
        if (part.ctime.getTime() !== ctime.getTime() || part.cusec !== cusec) {
          throw new BastionError('kerberos_ap_rep_mismatch');
        }
        if (part.seqNumber === undefined) throw new BastionError('kerberos_ap_rep_invalid');
        const acceptor = part.subkey;
        const key: KerberosKey =
          acceptor === undefined ? subkey : { enctype: acceptor.keytype, key: acceptor.keyvalue };
        profileOfKey(key);
        if (acceptor !== undefined) subkey.key.dispose();
        const receive = BigInt(part.seqNumber >>> 0);
        return new GssSession(key, acceptor !== undefined, BigInt(sequence), receive);
      } catch (err) {
        subkey.key.dispose();
        part?.subkey?.keyvalue.dispose();
        throw err;
      }
    },
    dispose() {
      done = true;
      subkey.key.dispose();
    },
  };
}

/** The krb5 token inside the acceptor's reply (SPNEGO's responseToken for `Negotiate`). */
function mechReply(scheme: GssScheme, reply: Uint8Array | undefined): Buffer {
  if (reply === undefined || reply.byteLength === 0) {
    throw new BastionError('kerberos_ap_rep_missing');
  }
  if (scheme === 'Kerberos') return Buffer.from(reply);
  const resp = readNegTokenResp(reply);
  if (resp.negState === NEG_STATE.reject) throw new BastionError('kerberos_gss_krb_error');
  if (resp.responseToken === undefined) throw new BastionError('kerberos_ap_rep_missing');
  // supportedMech is the OID's whole TLV: either Kerberos OID, nothing else.
  const mech = resp.supportedMech;
  if (mech !== undefined && !mech.equals(OID.krb5) && !mech.equals(OID.msKrb5)) {
    throw new BastionError('kerberos_gss_token_invalid');
  }
  if (resp.negState !== NEG_STATE.accept_completed)
    throw new BastionError('kerberos_ap_rep_missing');
  return resp.responseToken;
}

/** The EncAPRepPart of a krb5 AP-REP token, decrypted with the session key. */
function readApRep(sessionKey: KerberosKey, token: Buffer): EncApRepPart {
  const { tokId, message } = unframeKrb5(token);
  if (tokId === TOK_ID.krb_error) throw new BastionError('kerberos_gss_krb_error');
  if (tokId !== TOK_ID.ap_rep) throw new BastionError('kerberos_ap_rep_missing');
  let encPart;
  try {
    encPart = decodeApRep(message).encPart;
  } catch {
    throw new BastionError('kerberos_ap_rep_invalid');
  }
  if (encPart.etype !== sessionKey.enctype) throw new BastionError('kerberos_ap_rep_invalid');
  let plain;
  try {
    plain = decrypt(sessionKey, KEY_USAGE.ap_rep_enc_part, encPart.cipher);
  } catch {
    throw new BastionError('kerberos_ap_rep_invalid');
  }
  try {
    return plain.use((bytes) => decodeEncApRepPart(bytes));
  } catch {
    throw new BastionError('kerberos_ap_rep_invalid');
  } finally {
    plain.dispose();
  }
}
