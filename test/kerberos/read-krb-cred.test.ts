/**
 * readKrbCred, the inverse of toKrbCred: a KRB-CRED made by toKrbCred reads back into the
 * same ticket, session key (a Secret of its own), client and service; every other shape —
 * two tickets, an encrypted or kvno-tagged part, two infos, a principal missing, a service
 * that is not the ticket's, a key Bastion does not use, bytes that are not DER — is refused
 * with a catalog code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BastionError } from '../../src/base/errors.js';
import { Secret } from '../../src/credentials/secret.js';
import { toKrbCred } from '../../src/kerberos/client/krb-cred.js';
import { readKrbCred } from '../../src/kerberos/client/read-krb-cred.js';
import { generateKey } from '../../src/kerberos/crypto/string-to-key.js';
import { APPLICATION_TAG } from '../../src/kerberos/messages/constants.js';
import {
  encodeEncKrbCredPart,
  encodeKrbCred,
  type KrbCredInfo,
} from '../../src/kerberos/messages/krb-cred.js';
import type { Ticket } from '../../src/kerberos/messages/ticket.js';
import { formatPrincipal, NAME_TYPE, parsePrincipal } from '../../src/kerberos/principal.js';

const ALICE = parsePrincipal('alice@BASTION.TEST');
const WSMAN = parsePrincipal('WSMAN/win1.bastion.test@BASTION.TEST', NAME_TYPE.srv_inst);
const OTHER = parsePrincipal('WSMAN/win2.bastion.test@BASTION.TEST', NAME_TYPE.srv_inst);
const NOW = new Date('2026-01-01T00:00:00Z');
const LATER = new Date('2026-01-01T00:05:00Z');
const TICKET: Ticket = {
  realm: WSMAN.realm,
  sname: WSMAN.name,
  encPart: { etype: 18, kvno: 2, cipher: Buffer.from('opaque to the client') },
};

const code = (c: string) => (err: unknown) =>
  err instanceof BastionError && err.code === c ? true : assert.fail(`got ${String(err)}`);

function info(over: Partial<KrbCredInfo> = {}, key = generateKey(18)): KrbCredInfo {
  return {
    key: { keytype: key.enctype, keyvalue: key.key },
    prealm: ALICE.realm,
    pname: ALICE.name,
    authtime: NOW,
    endtime: LATER,
    srealm: WSMAN.realm,
    sname: WSMAN.name,
    ...over,
  };
}

/** A KRB-CRED blob as a Secret, its part in the clear unless `etype` says otherwise. */
function blob(
  infos: KrbCredInfo[],
  opts: { tickets?: Ticket[]; etype?: number; kvno?: number; part?: Buffer } = {},
): Secret {
  const part = opts.part ?? encodeEncKrbCredPart({ ticketInfo: infos });
  return Secret.adopt(
    encodeKrbCred({
      tickets: opts.tickets ?? [TICKET],
      encPart: { etype: opts.etype ?? 0, kvno: opts.kvno, cipher: part },
    }),
  );
}

describe('readKrbCred', () => {
  it("reads back toKrbCred's credential: ticket, a fresh copy of the key, client, service", () => {
    const sessionKey = generateKey(20);
    const made = toKrbCred({
      client: ALICE,
      server: WSMAN,
      ticket: TICKET,
      sessionKey,
      part: {
        tag: APPLICATION_TAG.enc_tgs_rep_part,
        key: { keytype: 20, keyvalue: sessionKey.key },
        lastReq: [],
        nonce: 1,
        flags: 0,
        authtime: NOW,
        endtime: LATER,
        srealm: WSMAN.realm,
        sname: WSMAN.name,
      },
    });
    const read = readKrbCred(made.krbCred);
    assert.deepEqual(read.ticket, TICKET);
    assert.equal(read.sessionKey.enctype, 20);
    assert.ok(read.sessionKey.key.equals(made.sessionKey));
    assert.equal(formatPrincipal(read.client), 'alice@BASTION.TEST');
    assert.equal(formatPrincipal(read.spn), 'WSMAN/win1.bastion.test@BASTION.TEST');
    // Each owns its bytes: disposing one leaves the other whole.
    const copy = Buffer.from(read.sessionKey.key.unsafeReveal());
    made.dispose();
    assert.deepEqual(read.sessionKey.key.unsafeReveal(), copy);
    read.sessionKey.key.dispose();
    copy.fill(0);
  });

  it('refuses every other shape with kerberos_krb_cred_invalid', () => {
    const cases: [string, () => Secret][] = [
      ['no ticket', () => blob([info()], { tickets: [] })],
      ['two tickets', () => blob([info()], { tickets: [TICKET, TICKET] })],
      ['an encrypted part', () => blob([info()], { etype: 18 })],
      ['a kvno on the part', () => blob([info()], { kvno: 1 })],
      ['no info', () => blob([])],
      ['two infos', () => blob([info(), info()])],
      ['no client name', () => blob([info({ pname: undefined })])],
      ['no client realm', () => blob([info({ prealm: undefined })])],
      ['no service name', () => blob([info({ sname: undefined })])],
      ['no service realm', () => blob([info({ srealm: undefined })])],
      ['a service not the ticket', () => blob([info({ sname: OTHER.name })])],
      ['a realm not the ticket', () => blob([info({ srealm: 'ELSEWHERE.TEST' })])],
      [
        'a client name Bastion refuses',
        () => blob([info({ pname: { nameType: 1, components: ['a@b'] } })]),
      ],
    ];
    for (const [why, make] of cases) {
      const secret = make();
      assert.throws(() => readKrbCred(secret), code('kerberos_krb_cred_invalid'), why);
      // The credential itself is the caller's: left as it was.
      assert.equal(secret.disposed, false, why);
      secret.dispose();
    }
  });

  it('refuses keys Bastion does not use, and bytes that are not a KRB-CRED', () => {
    const rc4 = { enctype: 23, key: Secret.copyOf(Buffer.alloc(16, 1)) };
    assert.throws(() => readKrbCred(blob([info({}, rc4)])), code('kerberos_unsupported_enctype'));
    const short = { enctype: 18, key: Secret.copyOf(Buffer.alloc(16, 1)) };
    assert.throws(() => readKrbCred(blob([info({}, short)])), code('kerberos_key_invalid'));
    const good = blob([info()]).unsafeReveal();
    for (const bytes of [
      Buffer.from('not DER'),
      good.subarray(0, good.byteLength - 1),
      Buffer.concat([good, Buffer.from([0])]),
    ]) {
      assert.throws(() => readKrbCred(Secret.copyOf(bytes)), code('kerberos_der_invalid'));
    }
    const notAPart = blob([], { part: Buffer.from('the clear part, but not DER') });
    assert.throws(() => readKrbCred(notAPart), code('kerberos_der_invalid'));
  });
});
