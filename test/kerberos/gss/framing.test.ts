/**
 * The acceptor's reply as the initiator reads it, without a KDC: SPNEGO NegTokenResp cases
 * (reject, incomplete, another mechanism, no response token) and DER the framing refuses
 * (non-minimal or overrunning lengths, trailing bytes, another OID). Each token is forged
 * to fail one check only; the real acceptor's replies are in acceptor.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKey } from '../../../src/kerberos/crypto/string-to-key.js';
import {
  OID,
  TOK_ID,
  frameKrb5,
  readTlv,
  tlv,
  unframeKrb5,
} from '../../../src/kerberos/gss/framing.js';
import { initiateContext } from '../../../src/kerberos/gss/initiator.js';
import { NAME_TYPE } from '../../../src/kerberos/principal.js';

const NTLM = Buffer.from('060a2b0601040182370202 0a'.replace(/ /g, ''), 'hex');
const AP_REP = frameKrb5(TOK_ID.ap_rep, Buffer.from([0x6f, 0x00]));

function pending() {
  const sessionKey = generateKey(18);
  return initiateContext(
    {
      ticket: {
        realm: 'BASTION.TEST',
        sname: { nameType: NAME_TYPE.srv_inst, components: ['HTTP', 'win1.bastion.test'] },
        encPart: { etype: 18, kvno: 2, cipher: Buffer.alloc(64, 1) },
      },
      sessionKey,
      client: { realm: 'BASTION.TEST', name: { nameType: 1, components: ['alice'] } },
    },
    'Negotiate',
  );
}

/** A NegTokenResp with the given fields. */
function negTokenResp(f: { state?: number; mech?: Buffer; token?: Buffer }): Buffer {
  return tlv(
    0xa1,
    tlv(
      0x30,
      ...(f.state === undefined ? [] : [tlv(0xa0, tlv(0x0a, Buffer.from([f.state])))]),
      ...(f.mech === undefined ? [] : [tlv(0xa1, f.mech)]),
      ...(f.token === undefined ? [] : [tlv(0xa2, tlv(0x04, f.token))]),
    ),
  );
}

const refuses = (reply: Buffer | undefined, code: string): void =>
  assert.throws(
    () => pending().finish(reply),
    (e: { code?: string }) => e.code === code,
  );

describe('GSS-API framing and the SPNEGO reply', () => {
  it('frames the AP-REQ as krb5 inside NegTokenInit offering Kerberos', () => {
    const p = pending();
    const t = readTlv(p.token, 0);
    assert.equal(t.tag, 0x60);
    assert.ok(t.content.subarray(0, OID.spnego.byteLength).equals(OID.spnego));
    assert.ok(p.token.includes(frameKrb5(TOK_ID.ap_req, Buffer.alloc(0)).subarray(4, 17)));
    p.dispose();
    assert.equal(unframeKrb5(AP_REP).tokId, TOK_ID.ap_rep);
  });

  it('reaches the AP-REP check only for an accept-completed Kerberos reply', () => {
    // The well-formed reply gets as far as decoding the (forged, empty) AP-REP.
    refuses(negTokenResp({ state: 0, mech: OID.krb5, token: AP_REP }), 'kerberos_ap_rep_invalid');
    refuses(negTokenResp({ state: 2 }), 'kerberos_gss_krb_error');
    refuses(negTokenResp({ state: 1, mech: OID.krb5, token: AP_REP }), 'kerberos_ap_rep_missing');
    refuses(negTokenResp({ state: 0, mech: OID.krb5 }), 'kerberos_ap_rep_missing');
    refuses(negTokenResp({ state: 0, mech: NTLM, token: AP_REP }), 'kerberos_gss_token_invalid');
    refuses(undefined, 'kerberos_ap_rep_missing');
  });

  it('refuses DER it does not expect', () => {
    const good = negTokenResp({ state: 0, mech: OID.krb5, token: AP_REP });
    refuses(Buffer.concat([good, Buffer.from([0])]), 'kerberos_gss_token_invalid');
    refuses(good.subarray(0, good.byteLength - 1), 'kerberos_gss_token_invalid');
    const nonMinimal = Buffer.concat([Buffer.from([0xa1, 0x81, good[1] ?? 0]), good.subarray(2)]);
    refuses(nonMinimal, 'kerberos_gss_token_invalid');
    const otherOid = Buffer.from(AP_REP);
    otherOid.writeUInt8(otherOid.readUInt8(6) ^ 0x10, 6);
    assert.throws(() => unframeKrb5(otherOid), { code: 'kerberos_gss_token_invalid' });
    const wrongOrder = tlv(
      0xa1,
      tlv(0x30, tlv(0xa2, tlv(0x04, AP_REP)), tlv(0xa0, tlv(0x0a, Buffer.from([0])))),
    );
    refuses(wrongOrder, 'kerberos_gss_token_invalid');
  });

  it('refuses a KRB-ERROR token as the reply', () => {
    refuses(
      negTokenResp({
        state: 0,
        mech: OID.krb5,
        token: frameKrb5(TOK_ID.krb_error, Buffer.from([0x7e, 0])),
      }),
      'kerberos_gss_krb_error',
    );
  });
});
