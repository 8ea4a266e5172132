/**
 * The kerberos backend's settings (`backends: [{kind: kerberos, …}]`): what the operator may
 * write, the defaults, and each refusal naming its key — above all the SPNs it may delegate
 * to, which are `service/host` only: no wildcard, no realm, never krbtgt.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfig } from '../../src/config/config.js';

const REQUIRED = `    principal: HTTP/broker.example.test@EXAMPLE.TEST
    keytab: broker.keytab
    kdcs: [kdc1.example.test, "kdc2.example.test:8888", "[::1]:88"]
`;
const DELEGATE = '    delegate_to: [WSMAN/win1.example.test]\n';

function parse(entry: string) {
  const yaml = `listen: 127.0.0.1:0
data_dir: /tmp/bastion-kerberos-settings
backends:
  - kind: kerberos
${entry}accords: []
`;
  return parseConfig(yaml, '/etc/bastion/bastion.yaml', {});
}

const settingsOf = (entry: string) =>
  parse(entry).backends[0]?.settings as Record<string, unknown> | undefined;

const refused = (where: string, why: string) => (err: unknown) =>
  err instanceof ConfigError &&
  err.message ===
    `Invalid configuration at /etc/bastion/bastion.yaml: backends[0].${where}: ${why}`;

describe('kerberos backend settings', () => {
  it('takes the principal, keytab (relative to the file), KDCs, SPNs, targets and times', () => {
    const settings = settingsOf(`${REQUIRED}${DELEGATE}    service: HTTP
    spns: { Win2.example.test: host/win2.example.test }
    targets: ["*.example.test"]
    timeout: 5s
    clock_skew: 2m
`);
    assert.equal(settings?.['keytab'], '/etc/bastion/broker.keytab');
    assert.deepEqual(settings?.['kdcs'], [
      { host: 'kdc1.example.test', port: 88 },
      { host: 'kdc2.example.test', port: 8888 },
      { host: '::1', port: 88 },
    ]);
    assert.deepEqual(
      settings?.['spns'],
      new Map([['win2.example.test', 'host/win2.example.test']]),
    );
    assert.equal(settings?.['timeout'], 5);
    assert.equal(settings?.['clock_skew'], 120);
  });

  it('refuses an SPN that is not service/host: wildcard, realm, krbtgt, a bare name', () => {
    const why = 'must be an SPN service/host (no realm, no wildcard, never krbtgt)';
    for (const spn of [
      'WSMAN/*.example.test',
      'WSMAN/win?.example.test',
      '*/win1.example.test',
      'WSMAN/win1.example.test@EXAMPLE.TEST',
      'krbtgt/EXAMPLE.TEST',
      'KRBTGT/EXAMPLE.TEST',
      'win1.example.test',
      'WSMAN/win1/extra',
      'WSMAN/ win1',
    ]) {
      assert.throws(
        () => parse(`${REQUIRED}    delegate_to: ["${spn}"]\n`),
        refused('delegate_to[0]', why),
        spn,
      );
    }
    assert.throws(
      () => parse(`${REQUIRED}${DELEGATE}    spns: { win1.example.test: "WSMAN/*" }\n`),
      refused('spns.(unrecognised key)', why),
    );
  });

  it('refuses missing or malformed required keys, by key', () => {
    assert.throws(() => parse(`${REQUIRED}`), refused('delegate_to', 'is required'));
    assert.throws(
      () => parse(`${REQUIRED}    delegate_to: []\n`),
      refused('delegate_to', 'must list at least one SPN'),
    );
    const noKdcs = REQUIRED.replace(/ {4}kdcs: .*\n/, '    kdcs: []\n');
    assert.throws(
      () => parse(`${noKdcs}${DELEGATE}`),
      refused('kdcs', 'must list at least one KDC'),
    );
    const badKdc = REQUIRED.replace(/ {4}kdcs: .*\n/, '    kdcs: ["kdc:99999"]\n');
    assert.throws(
      () => parse(`${badKdc}${DELEGATE}`),
      refused('kdcs[0]', 'must be host:port, [IPv6]:port or host (port 88)'),
    );
    for (const principal of ['alice@EXAMPLE.TEST', 'HTTP/broker.example.test', 'HTTP/b@lower']) {
      const doc = REQUIRED.replace(/principal: .*/, `principal: "${principal}"`);
      assert.throws(
        () => parse(`${doc}${DELEGATE}`),
        refused('principal', "must be the broker's service principal service/host@REALM"),
        principal,
      );
    }
    assert.throws(
      () => parse(`${REQUIRED}${DELEGATE}    service: krbtgt\n`),
      refused('service', 'must be a service class such as WSMAN or HTTP (never krbtgt)'),
    );
    assert.throws(
      () => parse(`${REQUIRED}${DELEGATE}    spns: { "https://a b": WSMAN/a }\n`),
      refused('spns', 'keys must be target host names'),
    );
    assert.throws(
      () => parse(`${REQUIRED}${DELEGATE}    keytab_password: x\n`),
      refused('keytab_password', 'is not a known key'),
    );
  });
});
