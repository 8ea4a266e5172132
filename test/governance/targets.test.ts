// Target canonicalisation and pattern matching: one canonical spelling per target, refusal
// of spellings that parsers disagree on, and matching that never crosses target kinds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/base/errors.js';
import {
  canonicalTarget,
  canonicalTargetPattern,
  isTargetPattern,
  targetKind,
  targetMatches,
} from '../../src/governance/targets.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';

describe('canonicalTarget', () => {
  const canonical: [string, string, string][] = [
    // [raw, canonical, kind]
    ['db1.internal.test', 'db1.internal.test', 'hostname'],
    ['DB1.Internal.Test.', 'db1.internal.test', 'hostname'],
    ['localhost', 'localhost', 'hostname'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example', 'hostname'],
    ['a-b.c-d.test', 'a-b.c-d.test', 'hostname'],
    [`${'a'.repeat(63)}.test`, `${'a'.repeat(63)}.test`, 'hostname'],
    ['127.0.0.1', '127.0.0.1', 'ipv4'],
    ['0.0.0.0', '0.0.0.0', 'ipv4'],
    ['255.255.255.255', '255.255.255.255', 'ipv4'],
    ['::1', '::1', 'ipv6'],
    ['[::1]', '::1', 'ipv6'],
    ['0:0:0:0:0:0:0:1', '::1', 'ipv6'],
    ['[0000:0000::0001]', '::1', 'ipv6'],
    ['FD00:0:0:0:0:0:0:AB', 'fd00::ab', 'ipv6'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'ipv6'],
    ['::ffff:1.2.3.4', '::ffff:102:304', 'ipv6'],
    ['https://api.example.test', 'https://api.example.test', 'url'],
    ['HTTPS://API.Example.TEST:443/', 'https://api.example.test', 'url'],
    ['http://api.example.test:80/v1/', 'http://api.example.test/v1', 'url'],
    ['http://api.example.test:443/v1', 'http://api.example.test:443/v1', 'url'],
    ['https://api.example.test:8443/v1/items', 'https://api.example.test:8443/v1/items', 'url'],
    ['https://10.0.0.5/x', 'https://10.0.0.5/x', 'url'],
    ['http://[0:0::1]:8080/x', 'http://[::1]:8080/x', 'url'],
    ['https://h.test/%7euser/%2f/%41', 'https://h.test/~user/%2F/A', 'url'],
    ['https://h.test/a:b@c;d=e', 'https://h.test/a:b@c;d=e', 'url'],
  ];
  for (const [raw, expected, kind] of canonical) {
    it(`canonicalises ${JSON.stringify(raw)}`, () => {
      assert.equal(canonicalTarget(raw), expected);
      assert.equal(targetKind(raw), kind);
      // Canonical forms are fixed points.
      assert.equal(canonicalTarget(expected), expected);
    });
  }

  it('keeps 127.0.0.1 and localhost distinct', () => {
    assert.notEqual(canonicalTarget('127.0.0.1'), canonicalTarget('localhost'));
    assert.equal(targetMatches('localhost', '127.0.0.1'), false);
    assert.equal(targetMatches('127.0.0.1', 'localhost'), false);
  });

  const invalid: [string, string][] = [
    ['', 'empty'],
    [' db1.test', 'leading space'],
    ['db1.test ', 'trailing space'],
    ['db 1.test', 'inner space'],
    ['db1.test\n', 'newline'],
    ['db1..test', 'empty label'],
    ['db1.test..', 'two trailing dots'],
    ['.db1.test', 'leading dot'],
    ['.', 'only a dot'],
    ['-db.test', 'label starts with a hyphen'],
    ['db-.test', 'label ends with a hyphen'],
    ['db_1.test', 'underscore'],
    [`${'a'.repeat(64)}.test`, 'label of 64 characters'],
    [`${'a.'.repeat(126)}ab`, 'name longer than 253 characters'],
    ['bücher.example', 'non-ASCII (IDN is not supported)'],
    ['db1.test:22', 'host with a port'],
    ['*.internal.test', 'a wildcard in a target'],
    ['010.0.0.1', 'IPv4 with a leading zero'],
    ['127.000.0.1', 'IPv4 with leading zeros'],
    ['256.0.0.1', 'IPv4 octet above 255'],
    ['127.1', 'short IPv4 form'],
    ['0x7f.0.0.1', 'hex IPv4 form'],
    ['2130706433', 'integer IPv4 form'],
    ['1.2.3.4.5', 'five numeric labels'],
    ['host.0x1f', 'hex last label'],
    ['fe80::1%eth0', 'IPv6 zone id'],
    ['[fe80::1%25eth0]', 'IPv6 zone id in brackets'],
    ['[::1', 'unclosed bracket'],
    ['::g', 'not IPv6'],
    ['1:2:3:4:5:6:7:8:9', 'too many IPv6 groups'],
    ['ftp://files.test', 'scheme other than http(s)'],
    ['https://', 'URL without a host'],
    ['https:///x', 'URL with an empty host'],
    ['https://user@h.test/', 'URL with userinfo'],
    ['https://user:pw@h.test/', 'URL with a password'],
    ['https://h.test/?q=1', 'URL with a query'],
    ['https://h.test/#top', 'URL with a fragment'],
    ['https://h.test/a/../b', 'URL with a dot-dot segment'],
    ['https://h.test/a/./b', 'URL with a dot segment'],
    ['https://h.test/a/%2e%2E/b', 'URL with an encoded dot-dot segment'],
    ['https://h.test//b', 'URL with an empty segment'],
    ['https://h.test/a b', 'URL with a space'],
    ['https://h.test\\x', 'URL with a backslash'],
    ['https://h.test/%zz', 'URL with a bad percent escape'],
    ['https://h.test:0/', 'URL port 0'],
    ['https://h.test:65536/', 'URL port above 65535'],
    ['https://h.test:0443/', 'URL port with a leading zero'],
    ['https://h.test:/', 'URL with an empty port'],
    ['https://h.test:8443:1/', 'URL with two ports'],
    ['https://[::1/', 'URL with an unclosed bracket'],
    ['https://127.1/', 'URL with a short IPv4 form'],
    [`https://h.test/${'a'.repeat(2048)}`, 'URL longer than 2048 characters'],
  ];
  for (const [raw, why] of invalid) {
    it(`refuses ${why}`, () => {
      assert.throws(
        () => canonicalTarget(raw),
        (err: unknown) => err instanceof InvalidArgumentError && err.message === 'Invalid target',
      );
      assert.equal(targetKind(raw), undefined);
    });
  }

  it('never quotes the target in its error', () => {
    const marker = newMarker();
    assert.throws(
      () => canonicalTarget(`https://${marker}@h.test/`),
      (err: unknown) => {
        expectNoMarker(JSON.stringify(err) + String(err), marker, 'error');
        return true;
      },
    );
  });
});

describe('canonicalTargetPattern', () => {
  const patterns: [string, string][] = [
    ['*', '*'],
    ['***', '*'],
    ['*.Internal.Test.', '*.internal.test'],
    ['db?.internal.test', 'db?.internal.test'],
    ['db**.internal.test', 'db*.internal.test'],
    ['10.*.*.*', '10.*.*.*'],
    ['10.0.0.?', '10.0.0.?'],
    ['[::1]', '::1'],
    ['0:0::1', '::1'],
    ['HTTPS://*.API.test:443/v1/', 'https://*.api.test/v1'],
    ['https://api.test/v1/**', 'https://api.test/v1/*'],
    ['https://*/health', 'https://*/health'],
    ['https://api.test/items/?', 'https://api.test/items/?'],
  ];
  for (const [raw, expected] of patterns) {
    it(`canonicalises ${JSON.stringify(raw)}`, () => {
      assert.equal(canonicalTargetPattern(raw), expected);
      assert.ok(isTargetPattern(raw));
    });
  }

  const invalid: [string, string][] = [
    ['', 'empty'],
    ['10.*', 'an IPv4 pattern with fewer than four octets'],
    ['*.1', 'a name pattern ending in a number'],
    ['10.*.*.300', 'an octet above 255'],
    ['010.*.*.*', 'an octet with a leading zero'],
    ['fd00::*', 'a wildcard in IPv6'],
    ['[fd00::*]', 'a wildcard in bracketed IPv6'],
    ['https://h.test:*/', 'a wildcard port'],
    ['http*://h.test', 'a wildcard scheme'],
    ['https://u@*.test', 'userinfo'],
    ['https://h.test/#*', 'a fragment'],
    ['https://h.test/*/../x', 'a dot-dot segment'],
    ['*_*.test', 'an underscore'],
    ['-*.test', 'a label starting with a hyphen'],
    ['*.internal test', 'a space'],
    [`*.${'a'.repeat(256)}`, 'longer than 256 characters'],
  ];
  for (const [raw, why] of invalid) {
    it(`refuses ${why}`, () => {
      assert.equal(isTargetPattern(raw), false);
      assert.throws(
        () => canonicalTargetPattern(raw),
        (err: unknown) =>
          err instanceof InvalidArgumentError && err.message === 'Invalid target pattern',
      );
    });
  }

  it('refuses non-strings', () => {
    for (const value of [undefined, null, 7, ['*']]) assert.equal(isTargetPattern(value), false);
  });
});

describe('targetMatches', () => {
  const cases: [string, string, boolean, string][] = [
    // [pattern, canonical target, matches, why]
    ['db1.internal.test', 'db1.internal.test', true, 'exact name'],
    ['DB1.Internal.Test.', 'db1.internal.test', true, 'pattern is canonicalised too'],
    ['db1.internal.test', 'db2.internal.test', false, 'other name'],
    ['*.internal.test', 'db1.internal.test', true, 'subdomain'],
    ['*.internal.test', 'a.b.internal.test', true, '* spans labels'],
    ['*.internal.test', 'internal.test', false, '* needs at least one character'],
    ['*.internal.test', 'xinternal.test', false, 'the dot is literal'],
    ['*.internal.test', 'db1.internal.test.evil', false, 'anchored at the end'],
    ['*.internal.test', '1.2.3.4', false, 'a name pattern never matches an IPv4'],
    ['*.internal.test', '::1', false, 'a name pattern never matches an IPv6'],
    ['*.internal.test', 'https://db1.internal.test', false, 'a name pattern never matches a URL'],
    ['db?.internal.test', 'db1.internal.test', true, '? is one character'],
    ['db?.internal.test', 'db10.internal.test', false, '? is exactly one character'],
    ['*', 'db1.internal.test', true, '* matches a name'],
    ['*', '1.2.3.4', true, '* matches an IPv4'],
    ['*', '::1', true, '* matches an IPv6'],
    ['*', 'https://api.test/v1', true, '* matches a URL'],
    ['127.0.0.1', '127.0.0.1', true, 'exact IPv4'],
    ['127.0.0.1', '127.0.0.2', false, 'other IPv4'],
    ['10.*.*.*', '10.1.2.3', true, 'IPv4 wildcard octets'],
    ['10.*.*.*', '110.1.2.3', false, 'IPv4 pattern anchored at the start'],
    ['10.0.0.?', '10.0.0.7', true, 'one-digit octet'],
    ['10.0.0.?', '10.0.0.17', false, 'two-digit octet'],
    ['*.*.*.*', '1.2.3.4', true, 'any IPv4'],
    ['*.*.*.*', 'a.b.c.d', false, 'an IPv4 pattern never matches a name'],
    ['*.*.*.*', '::ffff:102:304', false, 'an IPv4 pattern never matches IPv4-mapped IPv6'],
    ['::1', '::1', true, 'exact IPv6'],
    ['[::1]', '::1', true, 'bracketed IPv6 pattern'],
    ['0:0:0:0:0:0:0:1', '::1', true, 'uncompressed IPv6 pattern'],
    ['::1', '::2', false, 'other IPv6'],
    ['::1', '127.0.0.1', false, 'IPv6 loopback is not IPv4 loopback'],
    ['https://api.test', 'https://api.test', true, 'exact URL'],
    ['https://api.test', 'http://api.test', false, 'scheme must match'],
    ['https://api.test', 'https://api.test:8443', false, 'port must match'],
    ['https://api.test:443', 'https://api.test', true, 'default port dropped on both'],
    ['https://api.test', 'https://api.test/v1', false, 'no path in the pattern: root only'],
    ['https://api.test/*', 'https://api.test/v1/items', true, 'path glob spans segments'],
    ['https://api.test/*', 'https://api.test', false, '/* needs a path'],
    ['https://api.test/v1/*', 'https://api.test/v2/items', false, 'path prefix'],
    ['https://*.test/*', 'https://a.test/x', true, 'host and path globs'],
    ['https://*.test', 'https://evil.example/x.test', false, 'a host * never runs into the path'],
    ['https://*.test/*', 'https://10.0.0.1/x', false, 'URL host kinds stay apart'],
    ['https://*/health', 'https://10.0.0.1/health', true, 'an all-wildcard URL host matches any'],
    ['https://10.*.*.*', 'https://10.1.2.3', true, 'an IPv4 URL pattern matches an IPv4 host'],
    [
      'https://10.*.*.*',
      'https://10.evil.example.com',
      false,
      'an IPv4 URL pattern never matches an address-shaped name',
    ],
    [
      'https://10.*.*.*/*',
      'https://10.1.2.3.evil.example.com/x',
      false,
      'nor one that starts with a whole address',
    ],
    [
      'https://10.*.*.*',
      'https://[::ffff:a01:203]',
      false,
      'an IPv4 URL pattern never matches IPv4-mapped IPv6',
    ],
    [
      'https://*.example.com',
      'https://10.1.2.3',
      false,
      'a name URL pattern never matches an IPv4',
    ],
    ['https://[::1]:8443/*', 'https://[::1]:8443/x', true, 'IPv6 URL'],
    ['db1.internal.test', 'DB1.internal.test', false, 'a non-canonical target never matches'],
    ['*', 'not a target!', false, 'an invalid target never matches'],
  ];
  for (const [pattern, target, expected, why] of cases) {
    it(`${expected ? 'matches' : 'does not match'}: ${why}`, () => {
      assert.equal(targetMatches(pattern, target), expected);
    });
  }

  it('throws on an invalid pattern rather than guessing', () => {
    assert.throws(() => targetMatches('10.*', '10.0.0.1'), InvalidArgumentError);
  });

  it('returns promptly on a pattern built to backtrack (ReDoS)', () => {
    // `*a` repeated against a long near-miss is exponential for a naive translation; only
    // the result is asserted, a hang would time the test out.
    const pattern = `${'*a'.repeat(60)}.test`;
    const target = `${'a'.repeat(60)}.${'a'.repeat(60)}.${'a'.repeat(60)}.${'a'.repeat(60)}.tesx`;
    assert.equal(targetMatches(pattern, target), false);
    assert.equal(targetMatches(pattern, target.replace(/tesx$/, 'test')), true);
  });
});
