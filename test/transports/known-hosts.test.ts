/**
 * known_hosts parsing and matching, cross-checked with OpenSSH's own tools: ssh-keygen
 * hashes names (-H) and looks them up (-F), ssh-keyscan reads a real sshd's host key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ed25519PublicBlob,
  ed25519PublicKeyLine,
  rawEd25519PublicKey,
} from '../../src/ssh/ed25519.js';
import { sshString } from '../../src/ssh/wire.js';
import { KnownHosts, knownHostName } from '../../src/transports/known-hosts.js';
import { run } from '../helpers/run.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

function edKey(): { line: string; blob: Buffer } {
  const pub = rawEd25519PublicKey(generateKeyPairSync('ed25519').privateKey);
  return { line: ed25519PublicKeyLine(pub, ''), blob: ed25519PublicBlob(pub) };
}

/** An ECDSA P-256 public key line and blob, built from Node's SPKI export. */
function ecdsaKey(): { line: string; blob: Buffer } {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  const blob = Buffer.concat([
    sshString('ecdsa-sha2-nistp256'),
    sshString('nistp256'),
    sshString(spki.subarray(spki.byteLength - 65)),
  ]);
  return { line: `ecdsa-sha2-nistp256 ${blob.toString('base64')}`, blob };
}

const A = edKey();
const B = edKey();
const C = ecdsaKey();

describe('KnownHosts', () => {
  it('names a host as known_hosts does: plain on port 22, [host]:port otherwise', () => {
    assert.equal(knownHostName('Db1.Internal.Test', 22), 'db1.internal.test');
    assert.equal(knownHostName('127.0.0.1', 2222), '[127.0.0.1]:2222');
    assert.equal(knownHostName('::1', 2222), '[::1]:2222');
  });

  it('matches host lists, ports and comments', () => {
    const kh = KnownHosts.parse(
      [
        '# a comment',
        '',
        `db1.internal.test,10.0.0.1 ${A.line} ops@laptop`,
        `[db2.internal.test]:2222 ${B.line}`,
        `   DB3.Internal.Test\t${C.line}`,
      ].join('\n'),
    );
    assert.deepEqual(kh.invalidLines, []);
    assert.equal(kh.entries.length, 3);
    assert.equal(kh.check('db1.internal.test', 22, A.blob), 'ok');
    assert.equal(kh.check('10.0.0.1', 22, A.blob), 'ok');
    assert.equal(kh.check('DB1.internal.test', 22, A.blob), 'ok', 'names are case-insensitive');
    assert.equal(kh.check('db1.internal.test', 2222, A.blob), 'unknown', 'plain = port 22');
    assert.equal(kh.check('db2.internal.test', 2222, B.blob), 'ok');
    assert.equal(kh.check('db2.internal.test', 22, B.blob), 'unknown', '[host]:port only');
    assert.equal(kh.check('db3.internal.test', 22, C.blob), 'ok');
    assert.equal(kh.check('db4.internal.test', 22, A.blob), 'unknown');
    assert.deepEqual(kh.keyTypesFor('db3.internal.test', 22), ['ecdsa-sha2-nistp256']);
    assert.deepEqual(kh.keyTypesFor('db4.internal.test', 22), []);
  });

  it('reports a different key, or a key of another type, as a mismatch', () => {
    const kh = KnownHosts.parse(`db1.internal.test ${A.line}\n`);
    assert.equal(kh.check('db1.internal.test', 22, B.blob), 'mismatch');
    assert.equal(kh.check('db1.internal.test', 22, C.blob), 'mismatch');
    const both = KnownHosts.parse(`db1.internal.test ${A.line}\ndb1.internal.test ${C.line}\n`);
    assert.equal(both.check('db1.internal.test', 22, C.blob), 'ok');
    assert.deepEqual(both.keyTypesFor('db1.internal.test', 22), [
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
    ]);
  });

  it('supports wildcards and negation', () => {
    const kh = KnownHosts.parse(
      `*.internal.test,!db9.internal.test ${A.line}\n[10.0.0.?]:2222 ${B.line}\n`,
    );
    assert.equal(kh.check('db1.internal.test', 22, A.blob), 'ok');
    assert.equal(kh.check('db9.internal.test', 22, A.blob), 'unknown', 'negated');
    assert.equal(kh.check('internal.test', 22, A.blob), 'unknown');
    assert.equal(kh.check('10.0.0.7', 2222, B.blob), 'ok');
    assert.equal(kh.check('10.0.0.17', 2222, B.blob), 'unknown');
  });

  it('refuses @revoked keys, whatever else matches', () => {
    const kh = KnownHosts.parse(
      `db1.internal.test ${A.line}\n@revoked * ${A.line}\n@revoked db2.internal.test ${B.line}\n`,
    );
    assert.equal(kh.check('db1.internal.test', 22, A.blob), 'revoked');
    assert.equal(kh.check('db1.internal.test', 22, B.blob), 'mismatch');
    assert.equal(kh.check('db2.internal.test', 22, B.blob), 'revoked');
    assert.equal(kh.check('db3.internal.test', 22, B.blob), 'unknown');
    assert.deepEqual(kh.keyTypesFor('db2.internal.test', 22), [], 'revoked lines are no offer');
  });

  it('parses @cert-authority lines but reports them unsupported and never matches them', () => {
    const kh = KnownHosts.parse(`@cert-authority *.internal.test ${A.line}\n`);
    assert.deepEqual(kh.unsupportedLines, [1]);
    assert.equal(kh.entries[0]?.marker, 'cert-authority');
    assert.equal(kh.check('db1.internal.test', 22, A.blob), 'unknown');
  });

  it('skips malformed lines, listing their numbers, and keeps the rest', () => {
    const [type, b64] = A.line.split(' ') as [string, string];
    const kh = KnownHosts.parse(
      [
        `db1.internal.test ${type}`, // no key
        `db1.internal.test ${type} ${b64.slice(0, -2)}`, // bad base64
        `db1.internal.test ssh-rsa ${b64}`, // type field differs from the blob
        `@trusted db1.internal.test ${A.line}`, // unknown marker
        `|1|AAAA|BBBB ${A.line}`, // hashed, wrong HMAC length
        `db1.internal.test,,x ${A.line}`, // empty pattern
        `db2.internal.test ${B.line}`,
      ].join('\n'),
    );
    assert.deepEqual(kh.invalidLines, [1, 2, 3, 4, 5, 6]);
    assert.equal(kh.check('db1.internal.test', 22, A.blob), 'unknown');
    assert.equal(kh.check('db2.internal.test', 22, B.blob), 'ok');
  });

  it('matches names hashed by ssh-keygen -H, as ssh-keygen -F finds them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-known-hosts-'));
    try {
      const file = join(dir, 'known_hosts');
      writeFileSync(
        file,
        `db1.internal.test,10.0.0.1 ${A.line}\n[db2.internal.test]:2222 ${B.line}\n`,
      );
      const hashing = run('ssh-keygen', ['-H', '-f', file]);
      assert.equal(hashing.status, 0, hashing.stderr);
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /internal\.test/, 'names are hashed');
      const kh = KnownHosts.parse(text);
      assert.deepEqual(kh.invalidLines, []);
      assert.ok(kh.entries.every((e) => e.hashed));

      const cases: [string, number, Buffer, string][] = [
        ['db1.internal.test', 22, A.blob, 'ok'],
        ['10.0.0.1', 22, A.blob, 'ok'],
        ['db1.internal.test', 22, B.blob, 'mismatch'],
        ['db2.internal.test', 2222, B.blob, 'ok'],
        ['db2.internal.test', 22, B.blob, 'unknown'],
        ['db3.internal.test', 22, A.blob, 'unknown'],
      ];
      for (const [host, port, blob, verdict] of cases) {
        assert.equal(kh.check(host, port, blob), verdict, `${host}:${port}`);
        const found = run('ssh-keygen', ['-F', knownHostName(host, port), '-f', file]);
        assert.equal(found.status === 0, verdict !== 'unknown', `ssh-keygen -F ${host}:${port}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('KnownHosts with a real sshd', () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd({ caPublicKeys: [], principals: {} });
  });
  after(async () => {
    await sshd?.stop();
  });

  it("reads ssh-keyscan's lines, plain and hashed, for the host key sshd presents", () => {
    const blob = Buffer.from(sshd.hostKeyLine.split(' ')[1] ?? '', 'base64');
    for (const flags of [[], ['-H']]) {
      const scan = run('ssh-keyscan', [
        ...flags,
        '-t',
        'ed25519',
        '-p',
        String(sshd.port),
        '127.0.0.1',
      ]);
      assert.equal(scan.status, 0, scan.stderr);
      const kh = KnownHosts.parse(scan.stdout);
      assert.equal(kh.entries.length, 1, scan.stdout);
      assert.equal(kh.check('127.0.0.1', sshd.port, blob), 'ok', flags.join(' '));
      assert.equal(kh.check('127.0.0.1', 22, blob), 'unknown');
      assert.equal(kh.check('127.0.0.1', sshd.port, B.blob), 'mismatch');
    }
  });
});
