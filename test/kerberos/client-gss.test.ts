/**
 * Interop: the service ticket the client obtains is usable by a real acceptor. From the
 * KRB-CRED alone (the ticket and its session key) the test builds an AP-REQ (Authenticator
 * under the session key, usage 11, with RFC 4121 §4.1.1's GSS checksum) wrapped as a GSS
 * krb5 initial context token (RFC 4121 §4.1: [APPLICATION 0], the krb5 OID, TOK_ID 01 00);
 * MIT's GSS-API acceptor (Debian's python3-gssapi) with win1's keytab accepts it and names
 * the initiator alice. A control token under a wrong key is refused by the same acceptor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/base/clock.js';
import { acquireServiceTicket } from '../../src/kerberos/client/acquire.js';
import { encrypt } from '../../src/kerberos/crypto/cipher.js';
import { generateKey } from '../../src/kerberos/crypto/string-to-key.js';
import type { KerberosKey } from '../../src/kerberos/crypto/enctypes.js';
import { readKeytab, type Keytab } from '../../src/kerberos/keytab.js';
import { encodeApReq, encodeAuthenticator } from '../../src/kerberos/messages/ap.js';
import { KEY_USAGE } from '../../src/kerberos/messages/constants.js';
import { decodeKrbCred, decodeEncKrbCredPart } from '../../src/kerberos/messages/krb-cred.js';
import { mitEnv, runTool } from '../helpers/kdc-cli.js';
import { type Kdc, skipWithoutKdc, startKdc } from '../helpers/kdc.js';
import { DEBIAN_PYTHON } from '../helpers/winrm-double.js';

const WSMAN = 'WSMAN/win1.bastion.test';
const KRB5_OID = Buffer.from('06092a864886f712010202', 'hex');
const GSS_CHECKSUM_TYPE = 0x8003;

/** An acceptor that reads a base64 token on stdin and prints the initiator's name. */
const ACCEPTOR = `
import base64, sys, gssapi
token = base64.b64decode(sys.stdin.read())
ctx = gssapi.SecurityContext(usage='accept', creds=gssapi.Credentials(usage='accept'))
ctx.step(token)
print(ctx.initiator_name)
`;

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** RFC 4121 §4.1.1: Lgth (16), Bnd (no channel bindings: zeros), Flags (conf | integ). */
function gssChecksum(): Buffer {
  const sum = Buffer.alloc(24);
  sum.writeUInt32LE(16, 0);
  sum.writeUInt32LE(0x10 | 0x20, 20);
  return sum;
}

/** The GSS initial context token for the KRB-CRED's ticket, the authenticator under `key`. */
function initialToken(krbCredDer: Buffer, key: KerberosKey): Buffer {
  const cred = decodeKrbCred(krbCredDer);
  const info = decodeEncKrbCredPart(cred.encPart.cipher).ticketInfo[0];
  const ticket = cred.tickets[0];
  assert.ok(info?.pname && info.prealm && ticket);
  info.key.keyvalue.dispose();
  const now = systemClock.now();
  const authenticator = encodeAuthenticator({
    crealm: info.prealm,
    cname: info.pname,
    cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: gssChecksum() },
    cusec: (now % 1000) * 1000,
    ctime: new Date(Math.floor(now / 1000) * 1000),
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket,
    authenticator: {
      etype: key.enctype,
      cipher: encrypt(key, KEY_USAGE.ap_req_authenticator, authenticator),
    },
  });
  const inner = Buffer.concat([KRB5_OID, Buffer.from([0x01, 0x00]), apReq]);
  return Buffer.concat([Buffer.from([0x60]), derLength(inner.byteLength), inner]);
}

describe('the service ticket, accepted by MIT GSS-API', { skip: skipWithoutKdc() }, () => {
  let kdc: Kdc;
  let broker: Keytab;
  before(async () => {
    kdc = await startKdc();
    broker = readKeytab(kdc.broker.keytab);
  });
  after(async () => {
    broker?.dispose();
    await kdc?.stop();
  });

  const accept = (token: Buffer) =>
    runTool(
      DEBIAN_PYTHON,
      ['-c', ACCEPTOR],
      {
        ...mitEnv(kdc),
        KRB5_KTNAME: `FILE:${kdc.hostKeytabs['win1.bastion.test'] ?? ''}`,
        KRB5RCACHETYPE: 'none',
      },
      token.toString('base64'),
    );

  it('win1 accepts an AP-REQ made from the KRB-CRED, as alice; not one under another key', async () => {
    const cred = await acquireServiceTicket(
      {
        keytab: broker,
        broker: kdc.broker.principal,
        user: kdc.users.alice.principal,
        spn: WSMAN,
      },
      {
        kdcs: [kdc.kdcAddress],
        timeoutMs: 10_000,
        clock: systemClock,
        clockSkewMs: 60_000,
        windowMs: 5 * 60_000,
      },
    );
    try {
      const key: KerberosKey = { enctype: cred.enctype, key: cred.sessionKey };
      const ok = await accept(initialToken(cred.krbCred.unsafeReveal(), key));
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), `alice@${kdc.realm}`);
      // Control: the same ticket with an authenticator under a key that is not its session key.
      const wrong = generateKey(cred.enctype);
      const bad = await accept(initialToken(cred.krbCred.unsafeReveal(), wrong));
      wrong.key.dispose();
      assert.notEqual(bad.code, 0);
      assert.ok(!bad.stdout.includes('alice'));
    } finally {
      cred.dispose();
    }
  });
});
