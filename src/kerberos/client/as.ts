/**
 * The AS exchange (RFC 4120 §3.1) for the broker's own principal with its keytab key: an
 * AS-REQ; on KDC_ERR_PREAUTH_REQUIRED, PA-ENC-TIMESTAMP (key usage 1) under the key of the
 * first enctype of the KDC's ETYPE-INFO2 that the keytab holds; then the AS-REP's enc-part
 * decrypted (usage 3) and checked — client, nonce, krbtgt/REALM, times. The TGT's session
 * key comes back in a Secret the caller disposes (Tgt.dispose); the keytab key copies used
 * here are disposed before the function returns.
 */
import { BastionError } from '../../base/errors.js';
import { decodeStrict } from '../asn1/decode.js';
import { der } from '../asn1/encode.js';
import { decrypt, encrypt } from '../crypto/cipher.js';
import { SUPPORTED_ENCTYPES, type KerberosKey } from '../crypto/enctypes.js';
import type { Keytab } from '../keytab.js';
import { encryptedDataAsn, paDataListAsn, readPaDataList, type PaData } from '../messages/basic.js';
import { flags, KDC_OPTION, KEY_USAGE, MSG_TYPE, PADATA_TYPE } from '../messages/constants.js';
import { decodeEncKdcRepPart, type EncKdcRepPart } from '../messages/kdc-rep.js';
import { encodeKdcReq, type KdcReqBody } from '../messages/kdc-req.js';
import { KRB_ERROR_CODE } from '../messages/krb-error.js';
import { decodeEtypeInfo2, encodePaEncTsEnc } from '../messages/padata.js';
import type { Ticket } from '../messages/ticket.js';
import { NAME_TYPE, samePrincipal, type Principal, type PrincipalName } from '../principal.js';
import { KdcRefusal, readKdcReply } from './reply.js';
import { checkRepPart, kerberosNow, newNonce, tillOf, type KdcClientOptions } from './session.js';
import { exchangeWithKdc } from './transport.js';

/** The broker's TGT: its session key is a Secret, disposed by `dispose()`. */
export interface Tgt extends Disposable {
  readonly client: Principal;
  readonly ticket: Ticket;
  readonly sessionKey: KerberosKey;
  readonly endtime: Date;
  dispose(): void;
}

const krbtgt = (realm: string): PrincipalName => ({
  nameType: NAME_TYPE.srv_inst,
  components: ['krbtgt', realm],
});

/** The keytab's enctypes for `client`, strongest first. */
function keytabEnctypes(keytab: Keytab, client: Principal): number[] {
  const held = new Set(
    keytab.entries.filter((e) => samePrincipal(e.principal, client)).map((e) => e.enctype),
  );
  const list = SUPPORTED_ENCTYPES.filter((e) => held.has(e));
  if (list.length === 0) throw new BastionError('kerberos_keytab_no_key');
  return list;
}

/** The enctypes the KDC announced in the e-data of PREAUTH_REQUIRED, in its order. */
function announcedEnctypes(eData: Uint8Array | undefined): number[] {
  if (eData === undefined) return [];
  const methods = decodeStrict(eData, 'METHOD-DATA', readPaDataList, (l: PaData[]) =>
    der(paDataListAsn(l)),
  );
  const info = methods.find((p) => p.padataType === PADATA_TYPE.etype_info2);
  return info === undefined ? [] : decodeEtypeInfo2(info.padataValue).map((e) => e.etype);
}

function encTimestamp(key: KerberosKey, options: KdcClientOptions): PaData {
  const now = kerberosNow(options.clock);
  const plain = encodePaEncTsEnc({ patimestamp: now.time, pausec: now.usec });
  const cipher = encrypt(key, KEY_USAGE.as_req_pa_enc_timestamp, plain);
  const value = der(encryptedDataAsn({ etype: key.enctype, cipher }));
  return { padataType: PADATA_TYPE.enc_timestamp, padataValue: value };
}

/** A TGT for `client` (the broker) with its keys from `keytab`. */
export async function requestTgt(
  keytab: Keytab,
  client: Principal,
  options: KdcClientOptions,
): Promise<Tgt> {
  const enctypes = keytabEnctypes(keytab, client);
  const nonce = newNonce();
  const body: KdcReqBody = {
    kdcOptions: flags(KDC_OPTION, 'forwardable'),
    cname: client.name,
    realm: client.realm,
    sname: krbtgt(client.realm),
    till: tillOf(options),
    nonce,
    etype: enctypes,
  };
  const send = (padata?: PaData[]): Promise<Buffer> =>
    exchangeWithKdc(encodeKdcReq({ msgType: MSG_TYPE.as_req, padata, reqBody: body }), options);

  let reply = await send();
  try {
    readKdcReply(reply, MSG_TYPE.as_rep, 'as');
  } catch (err) {
    const preauth = KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED;
    if (!(err instanceof KdcRefusal) || err.krbError.errorCode !== preauth) throw err;
    const offered = announcedEnctypes(err.krbError.eData);
    const etype = offered.find((e) => enctypes.includes(e)) ?? enctypes[0] ?? 0;
    const key = keytab.selectKey(client, etype);
    try {
      reply = await send([encTimestamp(key, options)]);
    } finally {
      key.key.dispose();
    }
  }
  return readAsRep(reply, keytab, client, nonce, options);
}

function readAsRep(
  bytes: Buffer,
  keytab: Keytab,
  client: Principal,
  nonce: number,
  options: KdcClientOptions,
): Tgt {
  const rep = readKdcReply(bytes, MSG_TYPE.as_rep, 'as');
  const who = { name: rep.cname, realm: rep.crealm };
  if (!samePrincipal(who, client)) {
    throw new BastionError('kerberos_reply_mismatch', { details: ['cname'] });
  }
  const key = keytab.selectKey(client, rep.encPart.etype, rep.encPart.kvno);
  let part: EncKdcRepPart;
  try {
    const plain = decrypt(key, KEY_USAGE.as_rep_enc_part, rep.encPart.cipher);
    try {
      part = plain.use((b) => decodeEncKdcRepPart(b));
    } finally {
      plain.dispose();
    }
  } finally {
    key.key.dispose();
  }
  const sessionKey: KerberosKey = { enctype: part.key.keytype, key: part.key.keyvalue };
  try {
    const want = { nonce, realm: client.realm, sname: krbtgt(client.realm), authtimeIsNow: true };
    checkRepPart(part, want, options);
    const ticketName = { name: rep.ticket.sname, realm: rep.ticket.realm };
    if (!samePrincipal(ticketName, { name: krbtgt(client.realm), realm: client.realm })) {
      throw new BastionError('kerberos_reply_mismatch', { details: ['sname'] });
    }
  } catch (err) {
    sessionKey.key.dispose();
    throw err;
  }
  const dispose = (): void => sessionKey.key.dispose();
  return {
    client,
    ticket: rep.ticket,
    sessionKey,
    endtime: part.endtime,
    dispose,
    [Symbol.dispose]: dispose,
  };
}
