/**
 * The keytab parser against MIT Kerberos itself: keytabs written by `ktutil` for all four
 * AES enctypes read back with the keys `klist -K` shows and the keys our string-to-key
 * derives from the same password and MIT's default salt (realm + components); the 32-bit
 * kvno; entries of other enctypes skipped; holes skipped. And the failures: every
 * truncation, a lying size, another version, an oversized file, a key of the wrong length,
 * a principal outside the alphabet — each with its stable code, the file buffer zero-filled
 * on every path.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Secret } from '../../src/credentials/secret.js';
import { stringToKey } from '../../src/kerberos/crypto/string-to-key.js';
import { MAX_KEYTAB_BYTES, parseKeytab, readKeytab } from '../../src/kerberos/keytab.js';
import { defaultSalt, formatPrincipal, parsePrincipal } from '../../src/kerberos/principal.js';
import { klistKeys, ktutilKeytab, skipWithoutKtutil } from '../helpers/ktutil.js';

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;

const ENCTYPES: readonly [number, string][] = [
  [17, 'aes128-cts-hmac-sha1-96'],
  [18, 'aes256-cts-hmac-sha1-96'],
  [19, 'aes128-cts-hmac-sha256-128'],
  [20, 'aes256-cts-hmac-sha384-192'],
];
const ALICE = 'alice@BASTION.TEST';
const SERVICE = 'HTTP/web.bastion.test@BASTION.TEST';

describe('keytabs written by MIT ktutil', { skip: skipWithoutKtutil() }, () => {
  const entries = [
    ...ENCTYPES.map(([, name]) => ({
      principal: ALICE,
      kvno: 1,
      enctype: name,
      password: 'first pw',
    })),
    { principal: ALICE, kvno: 2, enctype: 'aes256-cts-hmac-sha1-96', password: 'second pw' },
    ...ENCTYPES.map(([, name]) => ({
      principal: SERVICE,
      kvno: 300,
      enctype: name,
      password: 'svc pw',
    })),
    { principal: SERVICE, kvno: 300, enctype: 'arcfour-hmac', password: 'svc pw' },
  ];
  const path = ktutilKeytab(entries);
  const keytab = readKeytab(path);
  after(() => {
    keytab.dispose();
    rmSync(dirname(path), { recursive: true, force: true });
  });

  it('reads every AES entry with the key klist -K shows, and skips the RC4 one', () => {
    const mit = klistKeys(path);
    assert.equal(mit.length, entries.length, 'klist read every entry');
    assert.equal(keytab.entries.length, entries.length - 1);
    assert.equal(keytab.skipped, 1);
    for (const m of mit.filter((k) => !k.enctype.includes('arcfour'))) {
      const enctype = ENCTYPES.find(([, name]) => name === m.enctype)?.[0] ?? 0;
      const key = keytab.selectKey(parsePrincipal(m.principal), enctype, m.kvno);
      assert.equal(
        key.key.unsafeReveal().toString('hex'),
        m.keyHex,
        `${m.principal} ${m.enctype} ${m.kvno}`,
      );
      key.key.dispose();
    }
    assert.deepEqual(
      keytab.entries.filter((e) => formatPrincipal(e.principal) === SERVICE).map((e) => e.kvno),
      [300, 300, 300, 300],
      'the 32-bit kvno, not its low byte (44)',
    );
  });

  it("our string-to-key gives MIT's keys from the password and the default salt", () => {
    for (const [principal, kvno, password] of [
      [ALICE, 1, 'first pw'],
      [SERVICE, 300, 'svc pw'],
    ] as const) {
      const p = parsePrincipal(principal);
      for (const [enctype] of ENCTYPES) {
        const ours = stringToKey(enctype, Secret.fromString(password), defaultSalt(p));
        const theirs = keytab.selectKey(p, enctype, kvno);
        assert.ok(ours.key.equals(theirs.key), `${principal} enctype ${enctype}`);
      }
    }
  });

  it('selects the highest kvno unless told, and refuses what it does not hold', () => {
    const alice = parsePrincipal(ALICE);
    const newest = keytab.selectKey(alice, 18);
    const second = stringToKey(18, Secret.fromString('second pw'), defaultSalt(alice));
    assert.ok(newest.key.equals(second.key));
    assert.ok(!keytab.selectKey(alice, 18, 1).key.equals(second.key));
    assert.throws(() => keytab.selectKey(alice, 18, 3), code('kerberos_keytab_no_key'));
    assert.throws(
      () => keytab.selectKey(parsePrincipal('bob@BASTION.TEST'), 18),
      code('kerberos_keytab_no_key'),
    );
    assert.throws(
      () => keytab.selectKey(parsePrincipal('alice@OTHER.TEST'), 18),
      code('kerberos_keytab_no_key'),
    );
    assert.throws(() => keytab.selectKey(alice, 23), code('kerberos_unsupported_enctype'));
  });

  it('keeps keys out of every text form, and zero-fills them on dispose', () => {
    const file = readFileSync(path);
    const mine = parseKeytab(Buffer.from(file));
    const key = mine.selectKey(parsePrincipal(ALICE), 20);
    const hex = key.key.unsafeReveal().toString('hex');
    const text = inspect(mine, { depth: 10, showHidden: true }) + JSON.stringify(mine.entries);
    assert.equal(text.includes(hex), false);
    assert.ok(file.toString('hex').includes(hex), 'the control: the key is in the file');
    mine.dispose();
    assert.throws(() => mine.selectKey(parsePrincipal(ALICE), 20), code('secret_disposed'));
  });

  it('zero-fills the file buffer it parsed, and skips holes', () => {
    const file = readFileSync(path);
    const buffer = Buffer.from(file);
    parseKeytab(buffer).dispose();
    assert.ok(buffer.every((b) => b === 0));
    // A hole (negative size) of 12 bytes between the header and the first entry.
    const hole = Buffer.concat([
      file.subarray(0, 2),
      Buffer.from([0xff, 0xff, 0xff, 0xf4]),
      Buffer.alloc(12),
      file.subarray(2),
    ]);
    const withHole = parseKeytab(hole);
    assert.equal(withHole.entries.length, entries.length - 1);
    withHole.dispose();
  });

  it('refuses every truncation with a stable code, zero-filling the buffer each time', () => {
    const file = readFileSync(path);
    let parsed = 0;
    for (let cut = 0; cut < file.byteLength; cut++) {
      const buffer = Buffer.from(file.subarray(0, cut));
      try {
        parseKeytab(buffer).dispose();
        parsed++; // a cut at an entry boundary is a shorter, valid keytab
      } catch (err) {
        const expected =
          cut < 2 ? 'kerberos_keytab_version_unsupported' : 'kerberos_keytab_malformed';
        assert.equal((err as { code?: string }).code, expected, `cut at ${cut}`);
      }
      assert.ok(
        buffer.every((b) => b === 0),
        `zero-filled at ${cut}`,
      );
    }
    assert.equal(
      parsed,
      entries.length,
      'one valid prefix per entry boundary (the empty keytab included)',
    );
  });

  it('reads only a regular file that its owner alone can read (ktutil writes 0600)', () => {
    assert.equal(statSync(path).mode & 0o777, 0o600, 'the control: the keytab read above is 0600');
    const open = `${path}.644`;
    writeFileSync(open, readFileSync(path), { mode: 0o644 });
    chmodSync(open, 0o644);
    assert.throws(() => readKeytab(open), code('kerberos_keytab_permissions'));
    chmodSync(open, 0o640);
    assert.throws(() => readKeytab(open), code('kerberos_keytab_permissions'));
    chmodSync(open, 0o400);
    readKeytab(open).dispose();
    assert.throws(() => readKeytab(dirname(path)), code('kerberos_keytab_permissions'));
  });

  it('refuses a lying size, another version, a bad key length, a bad name and an oversized file', () => {
    const file = readFileSync(path);
    const lying = Buffer.from(file);
    lying.writeInt32BE(0x7fffffff, 2);
    assert.throws(() => parseKeytab(lying), code('kerberos_keytab_malformed'));
    const v1 = Buffer.from(file);
    v1[1] = 0x01;
    assert.throws(() => parseKeytab(v1), code('kerberos_keytab_version_unsupported'));
    assert.throws(
      () => parseKeytab(Buffer.from('not a keytab')),
      code('kerberos_keytab_version_unsupported'),
    );
    const size = file.readInt32BE(2);
    const first = file.subarray(6, 6 + size);
    // The first entry's key length sits 2 bytes before its key and, with the 32-bit kvno, 4 + key bytes from the end.
    const keyLength = first.readUInt16BE(first.byteLength - 4 - 16 - 2);
    assert.equal(keyLength, 16, 'the first entry is aes128 (16-byte key)');
    const badKey = Buffer.from(file);
    badKey.writeUInt16BE(15, 6 + first.byteLength - 4 - 16 - 2);
    assert.throws(() => parseKeytab(badKey), code('kerberos_keytab_malformed'));
    const badName = Buffer.from(file);
    badName[6 + 2 + 2] = 0x0a; // the realm's first letter becomes a newline
    assert.throws(() => parseKeytab(badName), code('kerberos_keytab_malformed'));
    const huge = Buffer.alloc(MAX_KEYTAB_BYTES + 1);
    huge.set(file);
    assert.throws(() => parseKeytab(huge), code('kerberos_keytab_too_large'));
    assert.ok(huge.subarray(0, file.byteLength).every((b) => b === 0));
    const hugePath = `${path}.huge`;
    writeFileSync(hugePath, huge, { mode: 0o600 });
    assert.throws(() => readKeytab(hugePath), code('kerberos_keytab_too_large'));
  });
});

describe('principal names', () => {
  it('parse and format, refusing empty parts and characters outside printable ASCII', () => {
    const p = parsePrincipal('HTTP/web.example.test@EXAMPLE.TEST', 2);
    assert.deepEqual(p, {
      name: { nameType: 2, components: ['HTTP', 'web.example.test'] },
      realm: 'EXAMPLE.TEST',
    });
    assert.equal(formatPrincipal(p), 'HTTP/web.example.test@EXAMPLE.TEST');
    assert.equal(defaultSalt(p).toString(), 'EXAMPLE.TESTHTTPweb.example.test');
    for (const bad of [
      '',
      'alice',
      '@REALM',
      'alice@',
      'a//b@R',
      'al\\ice@R',
      'alice@R@S',
      'al\nice@R',
      'alicé@R',
      `${'a'.repeat(256)}@R`,
    ]) {
      assert.throws(
        () => parsePrincipal(bad),
        code('kerberos_principal_invalid'),
        JSON.stringify(bad),
      );
    }
  });
});
