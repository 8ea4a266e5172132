/**
 * RFC 4121 wrap tokens and the initiator's session, in-process: tokens the "acceptor side"
 * seals (sealWrapToken with the acceptor's usage and flags) open in a GssSession, and each
 * unwrap check refuses a token forged to fail only that check — so removing any one check
 * makes its test fail. The real acceptor's side is in acceptor.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../../src/credentials/secret.js';
import { generateKey } from '../../../src/kerberos/crypto/string-to-key.js';
import { GssSession } from '../../../src/kerberos/gss/session.js';
import {
  GSS_USAGE,
  WRAP_FLAG,
  openWrapToken,
  sealWrapToken,
} from '../../../src/kerberos/gss/wrap.js';
import { SUPPORTED_ENCTYPES, type KerberosKey } from '../../../src/kerberos/crypto/enctypes.js';

const FROM_ACCEPTOR = WRAP_FLAG.sent_by_acceptor | WRAP_FLAG.sealed | WRAP_FLAG.acceptor_subkey;

function acceptorSeal(key: KerberosKey, sequence: bigint, text: string, flags = FROM_ACCEPTOR) {
  return sealWrapToken({ key, usage: GSS_USAGE.acceptor_seal, flags, sequence }, Buffer.from(text));
}

/** A session over a copy of `key`: sends from 7, expects the acceptor's numbers from 100. */
function session(key: KerberosKey, acceptorSubkey = true): GssSession {
  const copy = { enctype: key.enctype, key: Secret.copyOf(key.key.unsafeReveal()) };
  return new GssSession(copy, acceptorSubkey, 7n, 100n);
}

/** Flips the lowest bit of byte `at`. */
export function flip(bytes: Buffer, at: number): void {
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
}

const assertCode = (fn: () => unknown, code: string): void =>
  assert.throws(fn, (e: { code?: string }) => e.code === code);

describe('RFC 4121 wrap tokens', () => {
  for (const enctype of SUPPORTED_ENCTYPES) {
    it(`enctype ${enctype}: the acceptor's tokens open in order; ours carry RRC = 16 + MAC`, () => {
      const key = generateKey(enctype);
      const s = session(key);
      for (const [i, text] of ['', 'a', 'x'.repeat(5000)].entries()) {
        const t = acceptorSeal(key, 100n + BigInt(i), text);
        assert.equal(s.unwrap(t.header, t.data).toString(), text);
      }
      const mine = s.wrap(Buffer.from('hello'));
      assert.equal(mine.data.byteLength, 5, 'the header holds everything but the data');
      const rrc = mine.header.readUInt16BE(6);
      assert.equal(mine.header.byteLength, 16 + 16 + rrc);
      assert.equal(mine.header[2], WRAP_FLAG.sealed | WRAP_FLAG.acceptor_subkey);
      assert.equal(mine.header.readBigUInt64BE(8), 7n);
      const opened = openWrapToken(key, GSS_USAGE.initiator_seal, mine.header, mine.data);
      assert.equal(opened.toString(), 'hello');
      assert.equal(s.wrap(Buffer.from('next')).header.readBigUInt64BE(8), 8n);
    });
  }

  it('refuses a flipped bit anywhere in the token (integrity)', () => {
    const key = generateKey(18);
    const t = acceptorSeal(key, 100n, 'payload');
    for (const [part, at] of [
      ['header', 20],
      ['header', 50],
      ['data', 3],
    ] as const) {
      const header = Buffer.from(t.header);
      const data = Buffer.from(t.data);
      flip(part === 'header' ? header : data, at);
      assertCode(() => session(key).unwrap(header, data), 'kerberos_integrity_failed');
    }
  });

  it('refuses a replayed and an out-of-order sequence number', () => {
    const key = generateKey(18);
    const s = session(key);
    const first = acceptorSeal(key, 100n, 'one');
    const second = acceptorSeal(key, 101n, 'two');
    assertCode(() => s.unwrap(second.header, second.data), 'kerberos_wrap_sequence');
    assert.equal(s.unwrap(first.header, first.data).toString(), 'one');
    assertCode(() => s.unwrap(first.header, first.data), 'kerberos_wrap_sequence');
    assert.equal(s.unwrap(second.header, second.data).toString(), 'two');
  });

  it("refuses a token not sent by the acceptor (our own direction's flag)", () => {
    const key = generateKey(18);
    const flags = WRAP_FLAG.sealed | WRAP_FLAG.acceptor_subkey;
    const t = acceptorSeal(key, 100n, 'reflected', flags);
    assertCode(() => session(key).unwrap(t.header, t.data), 'kerberos_wrap_direction');
  });

  it('refuses a token without confidentiality', () => {
    const key = generateKey(18);
    const t = acceptorSeal(
      key,
      100n,
      'plain',
      WRAP_FLAG.sent_by_acceptor | WRAP_FLAG.acceptor_subkey,
    );
    assertCode(() => session(key).unwrap(t.header, t.data), 'kerberos_wrap_unsealed');
  });

  it("refuses a token whose AcceptorSubkey flag is not the context's", () => {
    const key = generateKey(18);
    const t = acceptorSeal(key, 100n, 'x', WRAP_FLAG.sent_by_acceptor | WRAP_FLAG.sealed);
    assertCode(() => session(key).unwrap(t.header, t.data), 'kerberos_wrap_invalid');
  });

  it('refuses a token whose outer header differs from its encrypted copy', () => {
    // Sealed as number 101, relabelled 100 outside: only the copy comparison sees it.
    const key = generateKey(18);
    const t = acceptorSeal(key, 101n, 'relabelled');
    const header = Buffer.from(t.header);
    header.writeBigUInt64BE(100n, 8);
    assertCode(() => session(key).unwrap(header, t.data), 'kerberos_wrap_invalid');
    // An EC claimed outside only (it would cut the message short).
    const t2 = acceptorSeal(key, 100n, 'cut short');
    const header2 = Buffer.from(t2.header);
    header2.writeUInt16BE(1, 4);
    assertCode(() => session(key).unwrap(header2, t2.data), 'kerberos_wrap_invalid');
  });

  it('refuses a header whose TOK_ID or filler is wrong, and a disposed context', () => {
    const key = generateKey(18);
    const t = acceptorSeal(key, 100n, 'x');
    const header = Buffer.from(t.header);
    header[3] = 0;
    assertCode(() => session(key).unwrap(header, t.data), 'kerberos_wrap_invalid');
    assertCode(
      () => session(key).unwrap(t.header.subarray(0, 10), t.data),
      'kerberos_wrap_invalid',
    );
    const s = session(key);
    s.dispose();
    assertCode(() => s.unwrap(t.header, t.data), 'kerberos_context_state');
  });
});
