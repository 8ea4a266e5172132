/**
 * `audit.forward`: each collector's transport, address, CA file, format and APP-NAME are
 * read as the README says, and what would send somewhere unintended or unverifiable is
 * refused at load, naming the key and never echoing the value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfig } from '../../src/config/config.js';

const parse = (forward: string) =>
  parseConfig(`audit:\n  forward:\n${forward}\naccords: []\n`, '/etc/bastion/bastion.yaml');

describe('audit.forward', () => {
  it('reads collectors, with ocsf and bastion as defaults and paths against the file', () => {
    const config = parse(
      [
        '    - { transport: syslog-tcp, address: "127.0.0.1:5514" }',
        '    - { transport: syslog-tls, address: "siem.example.test:6514", ca_file: ca.pem, format: jsonl, app_name: bastion-eu }',
        '    - { transport: syslog-tls, address: "[::1]:6514" }',
      ].join('\n'),
    );
    assert.deepEqual(config.audit_forward, [
      {
        format: 'ocsf',
        transport: 'syslog-tcp',
        host: '127.0.0.1',
        port: 5514,
        ca_file: undefined,
        app_name: 'bastion',
      },
      {
        format: 'jsonl',
        transport: 'syslog-tls',
        host: 'siem.example.test',
        port: 6514,
        ca_file: '/etc/bastion/ca.pem',
        app_name: 'bastion-eu',
      },
      {
        format: 'ocsf',
        transport: 'syslog-tls',
        host: '::1',
        port: 6514,
        ca_file: undefined,
        app_name: 'bastion',
      },
    ]);
    assert.equal(
      parseConfig('accords: []\n', '/etc/bastion/bastion.yaml').audit_forward,
      undefined,
    );
  });

  for (const [why, entry] of [
    [
      'a CA file on plain TCP (it would check nothing)',
      '{ transport: syslog-tcp, address: "h.test:514", ca_file: ca.pem }',
    ],
    ['no port', '{ transport: syslog-tcp, address: "h.test" }'],
    ['port 0', '{ transport: syslog-tcp, address: "h.test:0" }'],
    ['port 70000', '{ transport: syslog-tcp, address: "h.test:70000" }'],
    ['a URL', '{ transport: syslog-tcp, address: "tcp://h.test:514" }'],
    ['UDP', '{ transport: syslog-udp, address: "h.test:514" }'],
    [
      'a format SIEMs were not promised',
      '{ transport: syslog-tcp, address: "h.test:514", format: cef }',
    ],
    [
      'an APP-NAME with a space',
      '{ transport: syslog-tcp, address: "h.test:514", app_name: "a b" }',
    ],
    ['an unknown key', '{ transport: syslog-tcp, address: "h.test:514", insecure: true }'],
  ] as const) {
    it(`refuses ${why}`, () => {
      assert.throws(
        () => parse(`    - ${entry}`),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.match(err.message, /audit\.forward/);
          assert.doesNotMatch(err.message, /h\.test|cef|a b|70000/);
          return true;
        },
      );
    });
  }
});
