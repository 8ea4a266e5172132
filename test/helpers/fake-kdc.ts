/**
 * A KDC played by the test, on 127.0.0.1 over TCP (RFC 4120 §7.2.2 framing), for what the
 * real MIT KDC will not do: answer with a wrong nonce, a lifetime beyond the window, a
 * tampered ciphertext, garbage, an oversized or truncated frame, or nothing at all. It
 * holds the broker's key (a Keytab built here) and answers AS-REQs and TGS-REQs with replies
 * built from the codecs of src/kerberos; a `tamper` hook changes a reply part before it is
 * encrypted, or replaces the whole answer.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Secret } from '../../src/credentials/secret.js';
import { encrypt } from '../../src/kerberos/crypto/cipher.js';
import type { KerberosKey } from '../../src/kerberos/crypto/enctypes.js';
import { generateKey } from '../../src/kerberos/crypto/string-to-key.js';
import { Keytab } from '../../src/kerberos/keytab.js';
import {
  KEY_USAGE,
  MSG_TYPE,
  TICKET_FLAG,
  APPLICATION_TAG,
} from '../../src/kerberos/messages/constants.js';
import {
  encodeEncKdcRepPart,
  encodeKdcRep,
  type EncKdcRepPart,
  type KdcRep,
} from '../../src/kerberos/messages/kdc-rep.js';
import { decodeKdcReq, type KdcReq } from '../../src/kerberos/messages/kdc-req.js';
import { NAME_TYPE, parsePrincipal, type Principal } from '../../src/kerberos/principal.js';

export const FAKE_REALM = 'FAKE.TEST';
export const FAKE_BROKER = `HTTP/broker.fake.test@${FAKE_REALM}`;

/** What the fake KDC does with one request. */
export type FakeAnswer =
  | { readonly part?: Partial<EncKdcRepPart>; readonly rep?: Partial<KdcRep> }
  | { readonly raw: Buffer }
  /** Written with the connection left open (a reply with trailing bytes must not wait). */
  | { readonly rawOpen: Buffer }
  | { readonly framed: Buffer }
  | 'silent';

export interface FakeKdc {
  readonly address: { readonly host: '127.0.0.1'; readonly port: number };
  /** The broker's keytab (one aes256-cts-hmac-sha1-96 key). */
  readonly keytab: Keytab;
  /** The requests received, decoded. */
  readonly requests: KdcReq[];
  close(): Promise<void>;
}

/** `answer(req, n)`: what to do with the n-th request (0-based); default: a proper reply. */
export async function startFakeKdc(
  answer: (req: KdcReq, n: number) => FakeAnswer = () => ({}),
): Promise<FakeKdc> {
  const brokerKey = generateKey(18);
  const broker = parsePrincipal(FAKE_BROKER, NAME_TYPE.srv_inst);
  const keytab = new Keytab(
    [{ principal: broker, timestamp: 0, kvno: 2, enctype: 18, key: brokerKey.key }],
    0,
  );
  // The session key of the last TGT issued: TGS-REQs are answered under it.
  let sessionKey: KerberosKey | undefined;
  const requests: KdcReq[] = [];
  const sockets = new Set<Socket>();

  const reply = (
    req: KdcReq,
    change: { readonly part?: Partial<EncKdcRepPart>; readonly rep?: Partial<KdcRep> },
  ): Buffer => {
    const as = req.msgType === MSG_TYPE.as_req;
    const issued = generateKey(18);
    const now = Math.floor(Date.now() / 1000) * 1000;
    const part: EncKdcRepPart = {
      tag: as ? APPLICATION_TAG.enc_as_rep_part : APPLICATION_TAG.enc_tgs_rep_part,
      key: { keytype: 18, keyvalue: issued.key },
      lastReq: [],
      nonce: req.reqBody.nonce,
      flags: TICKET_FLAG.forwardable,
      authtime: new Date(now),
      endtime: new Date(now + 4 * 60_000),
      srealm: req.reqBody.realm,
      sname: req.reqBody.sname ?? { nameType: 0, components: [] },
      ...change.part,
    };
    const plain = encodeEncKdcRepPart(part);
    const key = as ? brokerKey : sessionKey;
    if (key === undefined) throw new Error('a TGS-REQ before any AS-REQ');
    const usage = as ? KEY_USAGE.as_rep_enc_part : KEY_USAGE.tgs_rep_enc_part_session_key;
    const cipher = encrypt(key, usage, plain);
    if (as) sessionKey = { enctype: 18, key: issued.key.use((b) => Secret.copyOf(b)) };
    const cname = as
      ? (req.reqBody.cname ?? broker.name)
      : { nameType: NAME_TYPE.principal, components: ['alice'] };
    return encodeKdcRep({
      msgType: as ? MSG_TYPE.as_rep : MSG_TYPE.tgs_rep,
      crealm: req.reqBody.realm,
      cname,
      ticket: {
        realm: req.reqBody.realm,
        sname: part.sname,
        encPart: { etype: 18, kvno: 1, cipher: Buffer.alloc(64, 7) },
      },
      encPart: { etype: 18, cipher },
      ...change.rep,
    });
  };

  const frame = (bytes: Buffer): Buffer => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(bytes.byteLength);
    return Buffer.concat([prefix, bytes]);
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.byteLength < 4 || buffered.byteLength < 4 + buffered.readUInt32BE(0)) return;
      const req = decodeKdcReq(buffered.subarray(4));
      const n = requests.push(req) - 1;
      const what = answer(req, n);
      if (what === 'silent') return;
      if ('raw' in what) socket.end(what.raw);
      else if ('rawOpen' in what) socket.write(what.rawOpen);
      else if ('framed' in what) socket.end(frame(what.framed));
      else socket.end(frame(reply(req, what)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    address: { host: '127.0.0.1', port: address.port },
    keytab,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        keytab.dispose();
        sessionKey?.key.dispose();
      }),
  };
}

/** The broker as the fake KDC knows it. */
export const fakeBroker = (): Principal => parsePrincipal(FAKE_BROKER, NAME_TYPE.srv_inst);
