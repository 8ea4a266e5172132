/**
 * The Kerberos message codecs: MIT krb5's own reference encodings decode, with the fields
 * ktest.c put in them, and re-encode to the very same bytes; our own messages round-trip,
 * through encryption where the protocol encrypts them (an AS exchange, a TGS-REQ with its
 * authenticator checksum, KRB-CRED); PA-FOR-USER carries MS-SFU's HMAC-MD5 checksum and a
 * tampered one is refused; keys come out of a decoding in Secrets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/credentials/secret.js';
import { decrypt, encrypt } from '../../src/kerberos/crypto/cipher.js';
import { checksum, verifyChecksum } from '../../src/kerberos/crypto/checksum.js';
import { generateKey } from '../../src/kerberos/crypto/string-to-key.js';
import {
  decodeApRep,
  decodeApReq,
  decodeAuthenticator,
  decodeEncApRepPart,
  encodeApReq,
  encodeAuthenticator,
} from '../../src/kerberos/messages/ap.js';
import {
  AP_OPTION,
  flags,
  hasFlags,
  KDC_OPTION,
  KEY_USAGE,
  MSG_TYPE,
  PADATA_TYPE,
  TICKET_FLAG,
} from '../../src/kerberos/messages/constants.js';
import {
  decodeKdcRep,
  decodeEncKdcRepPart,
  encodeEncKdcRepPart,
  encodeKdcRep,
} from '../../src/kerberos/messages/kdc-rep.js';
import {
  decodeKdcReq,
  encodeKdcReq,
  encodeKdcReqBody,
  type KdcReqBody,
} from '../../src/kerberos/messages/kdc-req.js';
import {
  decodeEncKrbCredPart,
  decodeKrbCred,
  encodeEncKrbCredPart,
  encodeKrbCred,
} from '../../src/kerberos/messages/krb-cred.js';
import { decodeKrbError, krbErrorName } from '../../src/kerberos/messages/krb-error.js';
import {
  decodePaForUser,
  paForUser,
  verifyPaForUser,
} from '../../src/kerberos/messages/pa-for-user.js';
import {
  decodeEtypeInfo2,
  decodePaEncTsEnc,
  decodePaPacOptions,
  encodePaPacOptions,
  PAC_OPTION,
} from '../../src/kerberos/messages/padata.js';
import {
  decodeEncTicketPart,
  decodeTicket,
  type Ticket,
} from '../../src/kerberos/messages/ticket.js';
import { NAME_TYPE, parsePrincipal } from '../../src/kerberos/principal.js';
import { MIT_DER } from './mit-asn1-vectors.js';
import { hex } from './vectors.js';

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;
const mit = (name: string): Buffer => hex(MIT_DER[name] ?? assert.fail(name));
const T1994 = new Date('1994-06-10T06:03:17Z');
const HFTSAI = { nameType: 1, components: ['hftsai', 'extra'] };
const ATHENA = 'ATHENA.MIT.EDU';
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('MIT-made DER decodes, with its fields, and re-encodes byte for byte', () => {
  it('Ticket, EncTicketPart, Authenticator', () => {
    const t = decodeTicket(mit('ticket'));
    assert.equal(t.realm, ATHENA);
    assert.deepEqual(t.sname, HFTSAI);
    assert.equal(t.encPart.etype, 0);
    assert.equal(t.encPart.kvno, 5);
    assert.equal(text(t.encPart.cipher), 'krbASN.1 test message');
    const p = decodeEncTicketPart(mit('enc_tkt_part'));
    assert.equal(p.flags, 0xfedcba98);
    assert.equal(p.key.keyvalue.unsafeReveal().toString(), '12345678');
    assert.equal(p.transited.trType, 1);
    assert.deepEqual(p.authtime, T1994);
    assert.equal(p.caddr?.length, 2);
    assert.equal(p.authorizationData?.[0]?.adType, 1);
    assert.equal(decodeEncTicketPart(mit('enc_tkt_part(optionals NULL)')).starttime, undefined);
    const a = decodeAuthenticator(mit('authenticator'));
    assert.equal(a.cusec, 123456);
    assert.equal(a.seqNumber, 17);
    assert.equal(a.subkey?.keyvalue.unsafeReveal().toString(), '12345678');
    assert.equal(text(a.cksum?.checksum ?? new Uint8Array()), '1234');
    assert.equal(decodeAuthenticator(mit('authenticator(optionals NULL)')).cksum, undefined);
  });

  it('AS-REQ, TGS-REQ, AS-REP, TGS-REP, EncKDCRepPart', () => {
    const tgsReq = decodeKdcReq(mit('tgs_req'));
    assert.equal(tgsReq.msgType, MSG_TYPE.tgs_req);
    assert.equal(tgsReq.padata?.[0]?.padataType, 13);
    assert.equal(tgsReq.reqBody.kdcOptions, 0xfedcba90);
    assert.equal(tgsReq.reqBody.nonce, 42);
    assert.deepEqual(tgsReq.reqBody.etype, [0, 1]);
    assert.equal(tgsReq.reqBody.additionalTickets?.length, 2);
    const asReq = decodeKdcReq(mit('as_req(optionals NULL except server)'));
    assert.equal(asReq.msgType, MSG_TYPE.as_req);
    assert.equal(asReq.padata, undefined);
    assert.deepEqual(asReq.reqBody.sname, HFTSAI);
    const asRep = decodeKdcRep(mit('as_rep'));
    assert.equal(asRep.msgType, MSG_TYPE.as_rep);
    assert.equal(asRep.crealm, ATHENA);
    assert.equal(asRep.ticket.realm, ATHENA);
    assert.equal(decodeKdcRep(mit('tgs_rep(optionals NULL)')).msgType, MSG_TYPE.tgs_rep);
    const part = decodeEncKdcRepPart(mit('enc_kdc_rep_part'));
    assert.equal(part.tag, 26);
    assert.deepEqual(part.lastReq[0], { lrType: -5, lrValue: T1994 });
    assert.equal(part.nonce, 42);
    assert.equal(part.srealm, ATHENA);
    assert.equal(decodeEncKdcRepPart(mit('enc_kdc_rep_part(optionals NULL)')).flags, 0xfe5cba98);
  });

  it('AP-REQ, AP-REP, EncAPRepPart, KRB-CRED, EncKrbCredPart, KRB-ERROR, PA-DATA values', () => {
    assert.equal(decodeApReq(mit('ap_req')).apOptions, 0xfedcba98);
    assert.equal(decodeApRep(mit('ap_rep')).encPart.kvno, 5);
    assert.equal(decodeEncApRepPart(mit('ap_rep_enc_part')).seqNumber, 17);
    assert.equal(decodeKrbCred(mit('cred')).tickets.length, 2);
    const cred = decodeEncKrbCredPart(mit('enc_cred_part(optionals NULL)'));
    assert.equal(cred.ticketInfo.length, 2);
    assert.equal(cred.ticketInfo[0]?.prealm, undefined);
    assert.equal(cred.ticketInfo[1]?.flags, 0xfedcba98);
    const err = decodeKrbError(mit('error'));
    assert.equal(err.errorCode, 60);
    assert.equal(krbErrorName(err.errorCode), 'KRB_ERR_GENERIC');
    assert.equal(err.eText, 'krb5data');
    assert.equal(decodeKrbError(mit('error(optionals NULL)')).ctime, undefined);
    const info = decodeEtypeInfo2(mit('etype_info2'));
    assert.deepEqual(
      info.map((e) => [e.etype, e.salt]),
      [
        [0, "Morton's #0"],
        [1, undefined],
        [2, "Morton's #2"],
      ],
    );
    assert.equal(decodePaEncTsEnc(mit('pa_enc_ts')).pausec, 123456);
    assert.deepEqual(decodePaEncTsEnc(mit('pa_enc_ts(no usec)')).patimestamp, T1994);
  });
});

const NOW = new Date('2026-11-30T19:00:00Z');
const LATER = new Date('2026-11-30T19:05:00Z');
const BROKER = parsePrincipal('bastion/broker.bastion.test@BASTION.TEST');
const KRBTGT = parsePrincipal('krbtgt/BASTION.TEST@BASTION.TEST', NAME_TYPE.srv_inst);

describe('our messages round-trip, through encryption where the protocol encrypts', () => {
  it('an AS exchange: the reply decrypts under the client key and yields the session key', () => {
    const clientKey = generateKey(20);
    const session = generateKey(18);
    const tgsKey = generateKey(18);
    const encPart = encodeEncKdcRepPart({
      tag: 25,
      key: { keytype: 18, keyvalue: session.key },
      lastReq: [{ lrType: 0, lrValue: NOW }],
      nonce: 0x7fffffff,
      flags: flags(TICKET_FLAG, 'forwardable', 'initial', 'pre_authent'),
      authtime: NOW,
      endtime: LATER,
      srealm: 'BASTION.TEST',
      sname: KRBTGT.name,
    });
    const ticket: Ticket = {
      realm: 'BASTION.TEST',
      sname: KRBTGT.name,
      encPart: {
        etype: 18,
        kvno: 1,
        cipher: encrypt(tgsKey, KEY_USAGE.kdc_rep_ticket, Buffer.from('opaque')),
      },
    };
    const rep = encodeKdcRep({
      msgType: MSG_TYPE.as_rep,
      crealm: 'BASTION.TEST',
      cname: BROKER.name,
      ticket,
      encPart: {
        etype: 20,
        kvno: 2,
        cipher: encrypt(clientKey, KEY_USAGE.as_rep_enc_part, encPart),
      },
    });
    encPart.fill(0);
    const back = decodeKdcRep(rep);
    assert.equal(back.msgType, MSG_TYPE.as_rep);
    const plain = decrypt(clientKey, KEY_USAGE.as_rep_enc_part, back.encPart.cipher);
    const part = plain.use(decodeEncKdcRepPart);
    plain.dispose();
    assert.ok(part.key.keyvalue.equals(session.key), 'the session key, in a Secret of its own');
    assert.ok(hasFlags(part.flags, TICKET_FLAG.initial | TICKET_FLAG.pre_authent));
    assert.deepEqual(part.endtime, LATER);
    assert.throws(
      () => decrypt(generateKey(20), KEY_USAGE.as_rep_enc_part, back.encPart.cipher),
      code('kerberos_integrity_failed'),
    );
  });

  it('an S4U2Self TGS-REQ: PA-TGS-REQ with a checksummed body, and PA-FOR-USER', () => {
    const session = generateKey(18);
    const alice = parsePrincipal('alice@BASTION.TEST');
    const body: KdcReqBody = {
      kdcOptions: flags(KDC_OPTION, 'forwardable', 'canonicalize'),
      realm: 'BASTION.TEST',
      sname: BROKER.name,
      till: LATER,
      nonce: 12345,
      etype: [20, 18, 19, 17],
    };
    const bodyDer = encodeKdcReqBody(body);
    const authenticator = encodeAuthenticator({
      crealm: 'BASTION.TEST',
      cname: BROKER.name,
      cksum: {
        cksumtype: 16,
        checksum: checksum(16, session, KEY_USAGE.tgs_req_authenticator_cksum, bodyDer),
      },
      cusec: 999999,
      ctime: NOW,
    });
    const tgt: Ticket = {
      realm: 'BASTION.TEST',
      sname: KRBTGT.name,
      encPart: { etype: 18, cipher: Buffer.from('tgt') },
    };
    const apReq = encodeApReq({
      apOptions: 0,
      ticket: tgt,
      authenticator: {
        etype: 18,
        cipher: encrypt(session, KEY_USAGE.tgs_req_authenticator, authenticator),
      },
    });
    const forUser = paForUser(alice, session);
    const req = decodeKdcReq(
      encodeKdcReq({
        msgType: MSG_TYPE.tgs_req,
        padata: [{ padataType: PADATA_TYPE.tgs_req, padataValue: apReq }, forUser],
        reqBody: body,
      }),
    );
    // What the KDC checks, played here: the authenticator, its body checksum, PA-FOR-USER.
    const ap = decodeApReq(req.padata?.[0]?.padataValue ?? assert.fail());
    const auth = decrypt(session, KEY_USAGE.tgs_req_authenticator, ap.authenticator.cipher).use(
      decodeAuthenticator,
    );
    verifyChecksum(
      16,
      session,
      KEY_USAGE.tgs_req_authenticator_cksum,
      encodeKdcReqBody(req.reqBody),
      auth.cksum?.checksum ?? assert.fail(),
    );
    const user = decodePaForUser(req.padata?.[1]?.padataValue ?? assert.fail());
    assert.equal(req.padata?.[1]?.padataType, 129);
    assert.deepEqual(
      [user.userName, user.userRealm, user.authPackage, user.cksum.cksumtype],
      [alice.name, 'BASTION.TEST', 'Kerberos', -138],
    );
    verifyPaForUser(user, session);
    assert.throws(
      () =>
        verifyPaForUser({ ...user, userName: { nameType: 1, components: ['mallory'] } }, session),
      code('kerberos_checksum_invalid'),
    );
    assert.throws(() => verifyPaForUser(user, generateKey(18)), code('kerberos_checksum_invalid'));
    assert.throws(
      () => verifyPaForUser({ ...user, cksum: { ...user.cksum, cksumtype: 16 } }, session),
      code('kerberos_checksum_invalid'),
    );
  });

  it('KRB-CRED with an EncKrbCredPart encrypted under a key, and the flag bits', () => {
    const key = generateKey(18);
    const session = generateKey(20);
    const part = encodeEncKrbCredPart({
      ticketInfo: [
        {
          key: { keytype: 20, keyvalue: session.key },
          prealm: 'BASTION.TEST',
          pname: parsePrincipal('alice@BASTION.TEST').name,
          flags: TICKET_FLAG.forwardable,
          endtime: LATER,
          srealm: 'BASTION.TEST',
          sname: parsePrincipal('WSMAN/win.bastion.test@BASTION.TEST', 2).name,
        },
      ],
      nonce: 7,
    });
    const ticket: Ticket = {
      realm: 'BASTION.TEST',
      sname: parsePrincipal('WSMAN/win.bastion.test@BASTION.TEST', 2).name,
      encPart: { etype: 18, kvno: 3, cipher: Buffer.from('service ticket') },
    };
    const cred = decodeKrbCred(
      encodeKrbCred({
        tickets: [ticket],
        encPart: { etype: 18, cipher: encrypt(key, KEY_USAGE.krb_cred_enc_part, part) },
      }),
    );
    part.fill(0);
    const info = decrypt(key, KEY_USAGE.krb_cred_enc_part, cred.encPart.cipher).use(
      decodeEncKrbCredPart,
    );
    assert.ok(info.ticketInfo[0]?.key.keyvalue.equals(session.key));
    assert.deepEqual(cred.tickets[0], ticket);
    assert.equal(KDC_OPTION.forwardable, 0x40000000);
    assert.equal(KDC_OPTION.cname_in_addl_tkt, 0x00020000);
    assert.equal(KDC_OPTION.canonicalize, 0x00010000);
    assert.equal(
      flags(KDC_OPTION, 'forwardable', 'renewable', 'canonicalize', 'renewable_ok'),
      0x40810010,
    );
    assert.equal(AP_OPTION.mutual_required, 0x20000000);
    assert.equal(
      decodePaPacOptions(encodePaPacOptions(PAC_OPTION.resource_based_constrained_delegation)),
      0x10000000,
    );
    assert.equal(krbErrorName(37), 'KRB_AP_ERR_SKEW');
    assert.equal(krbErrorName(13), 'KDC_ERR_BADOPTION');
    assert.equal(krbErrorName(1000), undefined);
  });

  it('keys decoded are Secrets: never in text forms, and disposed when a later field fails', () => {
    const bytes = mit('enc_kdc_rep_part');
    const part = decodeEncKdcRepPart(bytes);
    assert.equal(JSON.stringify(part).includes('12345678'), false);
    assert.ok(part.key.keyvalue instanceof Secret);
    const made: Secret[] = [];
    const copyOf = Secret.copyOf.bind(Secret);
    Secret.copyOf = (b: Uint8Array) => {
      const s = copyOf(b);
      made.push(s);
      return s;
    };
    try {
      // srealm [9], after the key [0], becomes a VisibleString: asn1js parses it, we refuse it.
      const badRealm = Buffer.from(bytes);
      badRealm[bytes.indexOf(hex('A9 10 1B 0E')) + 2] = 0x1a;
      assert.throws(() => decodeEncKdcRepPart(badRealm), code('kerberos_der_invalid'));
    } finally {
      Secret.copyOf = copyOf;
    }
    assert.ok(made.length >= 1, 'the key was copied before the bad field');
    assert.ok(
      made.every((s) => s.disposed),
      'and disposed when the decoding failed',
    );
  });
});
