/**
 * One TGS exchange (RFC 4120 §3.3) under the broker's TGT: PA-TGS-REQ is an AP-REQ with the
 * TGT and an Authenticator (usage 7, under the TGT's session key) whose checksum covers the
 * DER KDC-REQ-BODY (usage 6, the checksum type of the session key's enctype); the TGS-REP's
 * enc-part is decrypted with the session key (usage 8; no subkey is sent, so never 9) and
 * checked — nonce, server, times. S4U2Self and S4U2Proxy are this exchange with their own
 * PA-DATA, options and additional tickets (s4u.ts).
 */
import { decrypt, encrypt } from '../crypto/cipher.js';
import { checksum } from '../crypto/checksum.js';
import { profileOfKey, SUPPORTED_ENCTYPES, type KerberosKey } from '../crypto/enctypes.js';
import { encodeApReq, encodeAuthenticator } from '../messages/ap.js';
import type { PaData } from '../messages/basic.js';
import { KEY_USAGE, MSG_TYPE, PADATA_TYPE } from '../messages/constants.js';
import { decodeEncKdcRepPart, type EncKdcRepPart, type KdcRep } from '../messages/kdc-rep.js';
import { encodeKdcReq, encodeKdcReqBody, type KdcReqBody } from '../messages/kdc-req.js';
import type { Ticket } from '../messages/ticket.js';
import type { PrincipalName } from '../principal.js';
import type { Tgt } from './as.js';
import { readKdcReply } from './reply.js';
import { checkRepPart, kerberosNow, newNonce, tillOf, type KdcClientOptions } from './session.js';
import { exchangeWithKdc } from './transport.js';

export interface TgsRequest {
  readonly sname: PrincipalName;
  readonly kdcOptions: number;
  /** PA-DATA after PA-TGS-REQ (PA-FOR-USER for S4U2Self). */
  readonly padata?: readonly PaData[];
  readonly additionalTickets?: readonly Ticket[];
  /** Which exchange this is, for the mapping of the KDC's refusals. */
  readonly step: 'tgs' | 's4u2self' | 's4u2proxy';
}

/** A TGS-REP with its decrypted part; the part's session key is the caller's to dispose. */
export interface TgsReply {
  readonly rep: KdcRep;
  readonly part: EncKdcRepPart;
  readonly sessionKey: KerberosKey;
}

function paTgsReq(tgt: Tgt, body: KdcReqBody, options: KdcClientOptions): PaData {
  const cksumtype = profileOfKey(tgt.sessionKey).checksumType;
  const bodyDer = encodeKdcReqBody(body);
  const cksum = checksum(cksumtype, tgt.sessionKey, KEY_USAGE.tgs_req_authenticator_cksum, bodyDer);
  const now = kerberosNow(options.clock);
  const authenticator = encodeAuthenticator({
    crealm: tgt.client.realm,
    cname: tgt.client.name,
    cksum: { cksumtype, checksum: cksum },
    cusec: now.usec,
    ctime: now.time,
  });
  const cipher = encrypt(tgt.sessionKey, KEY_USAGE.tgs_req_authenticator, authenticator);
  authenticator.fill(0);
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: { etype: tgt.sessionKey.enctype, cipher },
  });
  return { padataType: PADATA_TYPE.tgs_req, padataValue: apReq };
}

/** Sends one TGS-REQ under `tgt`; the checked reply. */
export async function tgsExchange(
  tgt: Tgt,
  request: TgsRequest,
  options: KdcClientOptions,
): Promise<TgsReply> {
  const nonce = newNonce();
  const body: KdcReqBody = {
    kdcOptions: request.kdcOptions,
    realm: tgt.client.realm,
    sname: request.sname,
    till: tillOf(options),
    nonce,
    etype: [...SUPPORTED_ENCTYPES],
    additionalTickets: request.additionalTickets,
  };
  const padata = [paTgsReq(tgt, body, options), ...(request.padata ?? [])];
  const bytes = encodeKdcReq({ msgType: MSG_TYPE.tgs_req, padata, reqBody: body });
  const reply = await exchangeWithKdc(bytes, options);
  const rep = readKdcReply(reply, MSG_TYPE.tgs_rep, request.step);
  const plain = decrypt(tgt.sessionKey, KEY_USAGE.tgs_rep_enc_part_session_key, rep.encPart.cipher);
  let part: EncKdcRepPart;
  try {
    part = plain.use((b) => decodeEncKdcRepPart(b));
  } finally {
    plain.dispose();
  }
  const sessionKey: KerberosKey = { enctype: part.key.keytype, key: part.key.keyvalue };
  try {
    checkRepPart(part, { nonce, realm: tgt.client.realm, sname: request.sname }, options);
  } catch (err) {
    sessionKey.key.dispose();
    throw err;
  }
  return { rep, part, sessionKey };
}
