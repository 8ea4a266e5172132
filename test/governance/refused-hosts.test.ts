// Refused hosts: which addresses and names count as link-local, metadata or unspecified
// (in every spelling, and never loopback or private ranges), and the accord rule that
// grants such a target only through a pattern that spells that very host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKnownErrorCode } from '../../src/base/errors.js';
import type { AccessRequest, Accord } from '../../src/governance/accords.js';
import { decide, PolicyDeniedError } from '../../src/governance/accords.js';
import { isRefusedAddress, isRefusedHost } from '../../src/governance/refused-hosts.js';
import { patternNamesHost, targetHost } from '../../src/governance/targets.js';

const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const NOW = new Date('2024-03-04T12:00:00Z');

describe('isRefusedAddress and isRefusedHost', () => {
  const refused = [
    '169.254.169.254',
    '169.254.0.0',
    '169.254.255.255',
    '169.254.170.2',
    '169.254.170.23',
    '169.254.42.42',
    '100.100.100.200',
    '168.63.129.16',
    '192.0.0.192',
    '0.0.0.0',
    '0.255.255.255',
    '::',
    '0:0:0:0:0:0:0:0',
    'fe80::1',
    'FE80::1',
    'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'fd00:ec2::254',
    'fd00:ec2:0:0:0:0:0:254',
    'fd00:ec2::23',
    'fd20:ce::254',
    'fd00:42::42',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::ffff:100.100.100.200',
    '::ffff:6464:64c8',
    '::ffff:168.63.129.16',
    '::ffff:0.0.0.0',
    '64:ff9b::169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::6464:64c8',
    '64:ff9b::c000:c0',
  ];
  const allowed = [
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '::ffff:127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '100.100.100.201',
    '168.63.129.17',
    '192.0.0.191',
    '169.253.255.255',
    '169.255.0.0',
    '1.0.0.0',
    'fec0::1',
    'fe7f:ffff::1',
    'fd00:ec2::253',
    'fd00::1',
    '2001:db8::1',
    '64:ff9b::a01:203',
    '64:ff9b::7f00:1',
    '::ffff:a01:203',
  ];
  for (const address of refused) {
    it(`refuses ${address}`, () => {
      assert.equal(isRefusedAddress(address), true);
      assert.equal(isRefusedHost(address), true);
    });
  }
  for (const address of allowed) {
    it(`allows ${address}`, () => {
      assert.equal(isRefusedAddress(address), false);
      assert.equal(isRefusedHost(address), false);
    });
  }

  it('refuses the metadata names, and no other name', () => {
    assert.equal(isRefusedHost('metadata.google.internal'), true);
    assert.equal(isRefusedHost('metadata'), true);
    for (const name of ['metadata.internal.test', 'google.internal', 'api.internal.test', '']) {
      assert.equal(isRefusedHost(name), false, name);
    }
    assert.equal(isRefusedAddress('metadata'), false, 'a name is not an address');
  });
});

describe('targetHost and patternNamesHost', () => {
  it('takes the bare host of a canonical target', () => {
    assert.equal(targetHost('169.254.169.254'), '169.254.169.254');
    assert.equal(targetHost('http://169.254.169.254/latest'), '169.254.169.254');
    assert.equal(targetHost('http://[fd00:ec2::254]:8080'), 'fd00:ec2::254');
    assert.equal(targetHost('https://metadata.google.internal'), 'metadata.google.internal');
    assert.equal(targetHost('HTTP://Metadata'), undefined, 'not canonical');
    assert.equal(targetHost('not a target'), undefined);
  });

  it('is true only for a matching pattern whose host has no wildcard', () => {
    const target = 'http://169.254.169.254/latest';
    assert.equal(patternNamesHost('http://169.254.169.254/*', target), true);
    assert.equal(patternNamesHost('http://169.254.169.254/latest', target), true);
    for (const pattern of ['*', 'http://*/*', 'http://169.254.*.*/*', 'http://169.254.169.25?/*']) {
      assert.equal(patternNamesHost(pattern, target), false, pattern);
    }
    assert.equal(patternNamesHost('http://169.254.169.254', target), false, 'no match');
  });
});

function accord(targets: string[]): Accord {
  return {
    id: 'api',
    principals: [ALICE],
    connectors: ['http', 'ssh'],
    targets,
    capabilities: ['read'],
    max_duration_seconds: 900,
    approvals: { required: 0, approvers: [] },
    admins: [],
  };
}

function ask(targets: string[], target: string, connector = 'http') {
  const request: AccessRequest = {
    principal_did: ALICE,
    accord: 'api',
    connector,
    target,
    capabilities: ['read'],
    duration_seconds: 60,
  };
  return decide(new Map([['api', accord(targets)]]), request, NOW);
}

function denied(code: string) {
  return (err: unknown) => err instanceof PolicyDeniedError && err.code === code;
}

describe('decide: refused hosts', () => {
  it('declares target_address_refused, a 403', () => {
    assert.ok(isKnownErrorCode('target_address_refused'));
    assert.equal(new PolicyDeniedError('target_address_refused').status, 403);
  });

  const throughWildcards: [string[], string][] = [
    [['*'], 'http://169.254.169.254'],
    [['*'], '169.254.169.254'],
    [['*'], 'http://[::ffff:a9fe:a9fe]'],
    [['*'], '::ffff:a9fe:a9fe'],
    [['*'], 'http://[64:ff9b::a9fe:a9fe]'],
    [['*'], 'http://[fd00:ec2::254]'],
    [['*'], 'http://[fd20:ce::254]'],
    [['*'], 'http://[fe80::1]:8080/x'],
    [['*'], 'http://100.100.100.200'],
    [['*'], 'http://168.63.129.16'],
    [['*'], '0.0.0.0'],
    [['*'], '::'],
    [['*'], 'http://metadata.google.internal'],
    [['*'], 'metadata'],
    [['http://*'], 'http://169.254.169.254'],
    [['http://*'], 'http://[::ffff:a9fe:a9fe]'],
    [['http://*'], 'http://metadata'],
    [['http://*/*'], 'http://169.254.169.254/latest/meta-data'],
    [['*.*.*.*'], '169.254.169.254'],
    [['169.254.*.*'], '169.254.169.254'],
    [['169.254.169.25?'], '169.254.169.254'],
    [['https://*.*.*.*'], 'https://100.100.100.200'],
    [['*.google.internal'], 'metadata.google.internal'],
    [['https://*.google.internal'], 'https://metadata.google.internal'],
    // An exact pattern for another host does not lend its exactness.
    [['*', '169.254.169.253'], '169.254.169.254'],
    [['*', 'http://169.254.169.254'], 'https://169.254.169.254'],
  ];
  for (const [targets, target] of throughWildcards) {
    it(`refuses ${target} through ${targets.join(', ')}`, () => {
      assert.throws(() => ask(targets, target), denied('target_address_refused'));
      assert.throws(() => ask(targets, target, 'ssh'), denied('target_address_refused'));
    });
  }

  const exactly: [string[], string][] = [
    [['169.254.169.254'], '169.254.169.254'],
    [['*', '169.254.169.254'], '169.254.169.254'],
    [['http://169.254.169.254'], 'http://169.254.169.254'],
    [['http://169.254.169.254/*'], 'http://169.254.169.254/latest/meta-data'],
    [['http://[::ffff:169.254.169.254]'], 'http://[::ffff:a9fe:a9fe]'],
    [['http://[fd00:ec2::254]'], 'http://[fd00:ec2::254]'],
    [['http://metadata.google.internal'], 'http://metadata.google.internal'],
    [['metadata'], 'metadata'],
  ];
  for (const [targets, target] of exactly) {
    it(`grants ${target} through ${targets.join(', ')}, which names it`, () => {
      assert.equal(ask(targets, target).target, target);
    });
  }

  it('keeps target kinds apart: the IPv4 literal does not grant its IPv6 forms', () => {
    for (const target of ['::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe']) {
      assert.throws(() => ask(['169.254.169.254'], target), denied('target_not_allowed'));
    }
  });

  it('leaves other targets to the patterns as before', () => {
    assert.equal(ask(['*'], 'http://127.0.0.1:8080').target, 'http://127.0.0.1:8080');
    assert.equal(ask(['http://*'], 'http://10.0.0.5').target, 'http://10.0.0.5');
    assert.equal(ask(['*.*.*.*'], '100.100.100.201').target, '100.100.100.201');
    assert.equal(ask(['*'], 'metadata.internal.test').target, 'metadata.internal.test');
  });
});
