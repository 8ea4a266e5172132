// The configuration file: the documented sample parses into the normalised shape, and every
// refusal names the exact key path with a reason of our own, never the offending value.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { BastionConfig } from '../../src/config/config.js';
import {
  connectorSettings,
  loadConfig,
  MAX_CONFIG_BYTES,
  parseConfig,
} from '../../src/config/config.js';
import type { BasculeSettings } from '../../src/connectors/bascule/plugin.js';
import { sshPlugin, type SshSettings } from '../../src/connectors/ssh/plugin.js';
import { basculePlugin as basculeConnector } from '../../src/connectors/bascule/plugin.js';
import { httpPlugin } from '../../src/connectors/http/plugin.js';
import { winrmPlugin } from '../../src/connectors/winrm/plugin.js';
import { basculePlugin as basculeBackend } from '../../src/backends/bascule/plugin.js';
import { ConfigError } from '../../src/base/errors.js';
import { commandAllowed, decide } from '../../src/governance/accords.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';

const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const BOB = 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG';
const CAROL = 'did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf';
const FILE = '/etc/bastion/bastion.yaml';

/** The sample from the documentation, verbatim apart from real-looking DIDs. */
const SAMPLE = `listen: 127.0.0.1:8443
data_dir: ./.bastion
admins: [${ALICE}]
accords:
  - id: ops-exec
    principals: [${BOB}]
    connectors: [ssh, bascule]
    targets: ["*.internal.test", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["uptime", "systemctl status *"], deny: ["*rm *"] }
    max_duration: 15m
    approvals: { required: 0 }
    ssh_login: deploy
`;

type Json = Record<string, unknown>;

function base(): Json {
  return {
    listen: '127.0.0.1:8443',
    data_dir: './.bastion',
    admins: [ALICE],
    accords: [
      {
        id: 'ops-exec',
        principals: [BOB],
        connectors: ['ssh', 'bascule'],
        ssh_login: 'deploy',
        targets: ['*.internal.test', '127.0.0.1'],
        capabilities: ['read', 'exec'],
        commands: { allow: ['uptime', 'systemctl status *'], deny: ['*rm *'] },
        max_duration: '15m',
        approvals: { required: 0 },
      },
    ],
  };
}

/** Sets (or, with `undefined`, deletes) the value at a dotted path with [i] indexes. */
function edit(doc: Json, path: string, value: unknown): Json {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  let node: Record<string, unknown> = doc;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys[keys.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return doc;
}

function parse(doc: Json | string, file = 'c.yaml'): BastionConfig {
  return parseConfig(typeof doc === 'string' ? doc : stringify(doc), file);
}

function configError(where: string, why: string | RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    const prefix = `Invalid configuration at ${where}: `;
    assert.ok(err.message.startsWith(prefix), `"${err.message}" should start with "${prefix}"`);
    const rest = err.message.slice(prefix.length);
    if (typeof why === 'string') assert.equal(rest, why);
    else assert.match(rest, why);
    assert.equal(err.code, 'invalid_config');
    return true;
  };
}

describe('parseConfig: the documented sample', () => {
  it('parses into the normalised shape', () => {
    const config = parseConfig(SAMPLE, FILE);
    const accord = {
      id: 'ops-exec',
      principals: [BOB],
      connectors: ['ssh', 'bascule'],
      targets: ['*.internal.test', '127.0.0.1'],
      capabilities: ['read', 'exec'],
      commands: { allow: ['uptime', 'systemctl status *'], deny: ['*rm *'] },
      max_duration_seconds: 900,
      approvals: { required: 0, approvers: [] },
      admins: [],
      ssh_login: 'deploy',
    };
    assert.deepEqual(config, {
      file: FILE,
      listen: { host: '127.0.0.1', port: 8443 },
      data_dir: '/etc/bastion/.bastion',
      issuer: 'urn:bastion:broker',
      audience: 'urn:bastion:connectors',
      clock_skew_seconds: 30,
      admins: [ALICE],
      limits: {
        body_bytes: 131_072,
        rate_per_minute: 120,
        auth_failures_per_minute: 120,
        output_bytes: 1_048_576,
        exec_timeout_seconds: 30,
      },
      connectors: [
        { kind: 'ssh', plugin: sshPlugin, settings: { port: 22, hosts: new Map() } },
        { kind: 'bascule', plugin: basculeConnector, settings: { targets: new Map() } },
        { kind: 'http', plugin: httpPlugin, settings: {} },
        {
          kind: 'winrm',
          plugin: winrmPlugin,
          settings: {
            port: 5985,
            scheme: 'Negotiate',
            path: '/wsman',
            hosts: new Map(),
            max_reply_bytes: 1024 * 1024,
          },
        },
      ],
      // Nothing listed: only the built-in Bascule grants (the dev backend is never implied).
      backends: [
        {
          kind: 'bascule',
          plugin: basculeBackend,
          settings: {},
          where: 'backends.bascule',
          failover: { failures: 3, open_seconds: 30 },
        },
      ],
      failover: { failures: 3, open_seconds: 30 },
      store: { kind: 'sqlite' },
      accords: [accord],
      accordsById: new Map([['ops-exec', accord]]),
      warnings: [],
    });
    assert.equal(config.accordsById.get('ops-exec'), config.accords[0]);
    assert.equal('public_url' in config, false);
    assert.equal('log_level' in config, false);
  });

  it('drives decide() and commandAllowed()', () => {
    const config = parseConfig(SAMPLE, FILE);
    const decision = decide(
      config.accordsById,
      {
        principal_did: BOB,
        accord: 'ops-exec',
        connector: 'bascule',
        target: 'DB1.Internal.Test.',
        capabilities: ['exec', 'read'],
        duration_seconds: 900,
      },
      new Date(),
    );
    assert.equal(decision.target, 'db1.internal.test');
    assert.equal(decision.capability_mask, 3);
    assert.equal(commandAllowed(decision.accord.commands, 'systemctl status sshd'), true);
    assert.equal(commandAllowed(decision.accord.commands, 'sudo rm -rf /'), false);
  });

  it('reads every optional key', () => {
    const doc = base();
    Object.assign(doc, {
      listen: '[::1]:0',
      data_dir: '/var/lib/bastion',
      public_url: 'HTTPS://Bastion.Example.TEST:443/',
      issuer: 'urn:example:broker',
      audience: 'urn:example:connectors',
      clock_skew: '5m',
      limits: {
        body_bytes: 1024,
        rate_per_minute: 1,
        auth_failures_per_minute: 7,
        output_bytes: 2048,
        exec_timeout: '2m',
      },
      log_level: 'debug',
      audit: { witness_file: '../../mnt/witness/bastion.jsonl' },
      connectors: {
        ssh: {
          known_hosts: 'known_hosts',
          port: 2222,
          hosts: { 'DB1.Internal.Test.': { address: '127.0.0.1', port: 3222 } },
        },
        bascule: {
          targets: {
            'db1.internal.test': 'http://127.0.0.1:7070',
            'db2.internal.test': 'unix:/run/bascule.sock',
          },
        },
      },
    });
    Object.assign((doc['accords'] as Json[])[0] as Json, {
      targets: ['DB1.Internal.Test.', '[0:0::1]', 'HTTPS://API.test:443/v1/'],
      capabilities: ['exec', 'read', 'admin'],
      max_duration: 900,
      approvals: { required: 2, approvers: [ALICE, CAROL] },
      time_windows: [
        { days: ['mon', 'fri'], start: '09:00', end: '17:00' },
        { days: ['sat'], start: '22:00', end: '06:00', tz: 'America/New_York' },
        { days: ['sun'], start: '00:00', end: '24:00' },
      ],
      admins: [CAROL],
      ssh_login: 'deploy',
    });
    const config = parse(doc, FILE);
    assert.deepEqual(config.listen, { host: '::1', port: 0 });
    assert.equal(config.data_dir, '/var/lib/bastion');
    assert.equal(config.public_url, 'https://bastion.example.test');
    assert.equal(config.issuer, 'urn:example:broker');
    assert.equal(config.audience, 'urn:example:connectors');
    assert.equal(config.clock_skew_seconds, 300);
    assert.deepEqual(config.limits, {
      body_bytes: 1024,
      rate_per_minute: 1,
      auth_failures_per_minute: 7,
      output_bytes: 2048,
      exec_timeout_seconds: 120,
    });
    const ssh = connectorSettings(config, 'ssh') as SshSettings;
    const bascule = connectorSettings(config, 'bascule') as BasculeSettings;
    assert.equal(ssh.known_hosts, '/etc/bastion/known_hosts');
    assert.equal(ssh.port, 2222);
    assert.deepEqual(ssh.hosts.get('db1.internal.test'), {
      address: '127.0.0.1',
      port: 3222,
    });
    assert.equal(bascule.targets.get('db1.internal.test'), 'http://127.0.0.1:7070');
    assert.equal(bascule.targets.get('db2.internal.test'), 'unix:/run/bascule.sock');
    assert.equal(config.log_level, 'debug');
    // Relative to the file's directory, as every path in it is.
    assert.equal(config.audit_witness_file, '/mnt/witness/bastion.jsonl');
    const accord = config.accords[0];
    assert.ok(accord);
    assert.deepEqual(accord.targets, ['db1.internal.test', '::1', 'https://api.test/v1']);
    assert.deepEqual(accord.capabilities, ['read', 'exec', 'admin']);
    assert.equal(accord.max_duration_seconds, 900);
    assert.deepEqual(accord.approvals, { required: 2, approvers: [ALICE, CAROL] });
    assert.deepEqual(accord.time_windows, [
      { days: ['mon', 'fri'], start: '09:00', end: '17:00', tz: 'UTC' },
      { days: ['sat'], start: '22:00', end: '06:00', tz: 'America/New_York' },
      { days: ['sun'], start: '00:00', end: '24:00', tz: 'UTC' },
    ]);
    assert.deepEqual(accord.admins, [CAROL]);
    assert.equal(accord.ssh_login, 'deploy');
  });

  it('reads oauth.sender_constrained, and has none without it', () => {
    const doc = edit(base(), 'accords[0].oauth', { sender_constrained: 'required' });
    assert.deepEqual(parse(doc).accords[0]?.oauth, { sender_constrained: 'required' });
    assert.equal('oauth' in (parse(base()).accords[0] ?? {}), false);
  });

  it('reads kerberos_principals into a map from DID to user principal', () => {
    const doc = edit(base(), 'accords[0].kerberos_principals', { [BOB]: 'bob.ops@CORP.EXAMPLE' });
    const accord = parse(doc).accords[0];
    assert.deepEqual(accord?.kerberos_principals, new Map([[BOB, 'bob.ops@CORP.EXAMPLE']]));
    assert.equal('kerberos_principals' in (parse(base()).accords[0] ?? {}), false);
  });

  it('has no command policy when commands is absent, and fills in a partial one', () => {
    const none = base();
    edit(none, 'accords[0].commands', undefined);
    const accord = parse(none).accords[0];
    assert.ok(accord);
    assert.equal(accord.commands, undefined);
    assert.equal('commands' in accord, false);
    assert.equal(commandAllowed(accord.commands, 'rm -rf /'), true);

    const cases: [unknown, { allow: string[]; deny: string[] }][] = [
      [{}, { allow: ['*'], deny: [] }],
      [{ deny: ['*rm *'] }, { allow: ['*'], deny: ['*rm *'] }],
      [{ allow: ['uptime'] }, { allow: ['uptime'], deny: [] }],
      [{ allow: [] }, { allow: [], deny: [] }],
    ];
    for (const [commands, expected] of cases) {
      const doc = edit(base(), 'accords[0].commands', commands);
      assert.deepEqual(parse(doc).accords[0]?.commands, expected);
    }
  });

  it('defaults approvals and admins, and accepts an empty accord list', () => {
    const doc = edit(base(), 'accords[0].approvals', undefined);
    edit(doc, 'admins', undefined);
    const config = parse(doc);
    assert.deepEqual(config.admins, []);
    assert.deepEqual(config.accords[0]?.approvals, { required: 0, approvers: [] });
    assert.deepEqual(parse(edit(base(), 'accords', [])).accords, []);
  });

  it('resolves data_dir against the config file, not the working directory', () => {
    assert.equal(parseConfig(SAMPLE, '/srv/conf/b.yaml').data_dir, '/srv/conf/.bastion');
    const doc = edit(base(), 'data_dir', '../data');
    assert.equal(parse(doc, '/srv/conf/b.yaml').data_dir, '/srv/data');
    assert.equal(
      parse(edit(base(), 'data_dir', '/abs/dir'), '/srv/conf/b.yaml').data_dir,
      '/abs/dir',
    );
  });

  it('accepts bare-integer durations and the listen forms', () => {
    assert.equal(
      parse(edit(base(), 'accords[0].max_duration', 60)).accords[0]?.max_duration_seconds,
      60,
    );
    assert.equal(
      parse(edit(base(), 'accords[0].max_duration', '1h30m')).accords[0]?.max_duration_seconds,
      5400,
    );
    const listens: [string, { host: string; port: number }][] = [
      ['localhost:65535', { host: 'localhost', port: 65535 }],
      ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
      ['[0:0:0:0:0:0:0:1]:8443', { host: '::1', port: 8443 }],
      ['Bastion.Internal.Test:443', { host: 'bastion.internal.test', port: 443 }],
    ];
    for (const [listen, expected] of listens) {
      assert.deepEqual(parse(edit(base(), 'listen', listen)).listen, expected);
    }
  });

  it('accepts anchors and aliases used with restraint', () => {
    const text = `listen: 127.0.0.1:8443
data_dir: ./.bastion
accords:
  - id: a
    principals: &ops [${ALICE}, ${BOB}]
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*"]
    capabilities: [read]
    max_duration: 1h
  - id: b
    principals: *ops
    connectors: [ssh]
    ssh_login: deploy
    targets: ["*"]
    capabilities: [read]
    max_duration: 1h
`;
    assert.deepEqual(parseConfig(text, 'c.yaml').accords[1]?.principals, [ALICE, BOB]);
  });
});

describe('parseConfig: refusals name the exact path', () => {
  const L = '127.0.0.1:8443';
  const cases: [string, string, unknown, string, string | RegExp][] = [
    // [what, path to edit, new value (undefined deletes), where, why]
    ['numeric listen', 'listen', 8443, 'listen', /^must be host:port/],
    ['listen without a port', 'listen', '127.0.0.1', 'listen', /^must be host:port/],
    ['listen port too big', 'listen', '127.0.0.1:65536', 'listen', /^must be host:port/],
    [
      'listen port with a leading zero',
      'listen',
      '127.0.0.1:08443',
      'listen',
      /^must be host:port/,
    ],
    ['listen IPv6 without brackets', 'listen', '::1:8443', 'listen', /^must be host:port/],
    ['listen with a bad host', 'listen', 'bad_host:80', 'listen', /^must be host:port/],
    ['listen with a URL', 'listen', 'http://h:80', 'listen', /^must be host:port/],
    ['listen with an ambiguous IPv4', 'listen', '010.0.0.1:80', 'listen', /^must be host:port/],
    ['empty data_dir', 'data_dir', '', 'data_dir', 'must not be empty'],
    ['null data_dir', 'data_dir', null, 'data_dir', 'must be a directory path'],
    [
      'public_url with another scheme',
      'public_url',
      'ftp://b.test',
      'public_url',
      /^must be an http\(s\) URL/,
    ],
    [
      'public_url with credentials',
      'public_url',
      'https://u:p@b.test',
      'public_url',
      /^must be an http\(s\) URL/,
    ],
    [
      'public_url with a query',
      'public_url',
      'https://b.test/?x=1',
      'public_url',
      /^must be an http\(s\) URL/,
    ],
    [
      'public_url that is a host',
      'public_url',
      'b.test',
      'public_url',
      /^must be an http\(s\) URL/,
    ],
    ['empty issuer', 'issuer', '', 'issuer', 'must not be empty'],
    ['numeric issuer', 'issuer', 5, 'issuer', 'must be a string'],
    ['issuer with a newline', 'issuer', 'a\nb', 'issuer', 'must not contain control characters'],
    [
      'long audience',
      'audience',
      'a'.repeat(257),
      'audience',
      'must be at most 256 characters long',
    ],
    ['clock_skew above 5m', 'clock_skew', '5m1s', 'clock_skew', 'must be at most 300 seconds'],
    ['zero clock_skew', 'clock_skew', '0s', 'clock_skew', 'must be a duration greater than zero'],
    ['clock_skew garbage', 'clock_skew', 'soon', 'clock_skew', /^must be a duration such as/],
    ['admins not a list', 'admins', ALICE, 'admins', 'must be a list of did:key DIDs'],
    [
      'admin not a did:key',
      'admins',
      [ALICE, 'did:web:example.test'],
      'admins[1]',
      /^must be a did:key DID/,
    ],
    [
      'admin with a short key',
      'admins',
      [ALICE.slice(0, -1)],
      'admins[0]',
      /^must be a did:key DID/,
    ],
    [
      'admin not Ed25519',
      'admins',
      ['did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme'],
      'admins[0]',
      /^must be a did:key DID/,
    ],
    [
      'admin with base58-invalid 0',
      'admins',
      [`${ALICE.slice(0, -1)}0`],
      'admins[0]',
      /^must be a did:key DID/,
    ],
    ['duplicate admin', 'admins', [ALICE, BOB, ALICE], 'admins[2]', 'duplicates an earlier entry'],
    ['limits not a mapping', 'limits', 5, 'limits', 'must be a mapping'],
    [
      'body_bytes too small',
      'limits',
      { body_bytes: 1023 },
      'limits.body_bytes',
      'must be at least 1024',
    ],
    [
      'body_bytes too big',
      'limits',
      { body_bytes: 1_048_577 },
      'limits.body_bytes',
      'must be at most 1048576',
    ],
    [
      'fractional body_bytes',
      'limits',
      { body_bytes: 2048.5 },
      'limits.body_bytes',
      'must be a whole number',
    ],
    ['zero rate', 'limits', { rate_per_minute: 0 }, 'limits.rate_per_minute', 'must be at least 1'],
    [
      'string rate',
      'limits',
      { rate_per_minute: '120' },
      'limits.rate_per_minute',
      'must be a whole number',
    ],
    [
      'unknown limit',
      'limits',
      { rate_per_minte: 5 },
      'limits.rate_per_minte',
      'is not a known key',
    ],
    [
      'unknown log level',
      'log_level',
      'verbose',
      'log_level',
      /^must be one of fatal, error, warn/,
    ],
    ['audit not a mapping', 'audit', 5, 'audit', 'must be a mapping'],
    ['unknown audit key', 'audit', { witness: '/w.jsonl' }, 'audit.witness', 'is not a known key'],
    [
      'empty witness_file',
      'audit',
      { witness_file: '' },
      'audit.witness_file',
      'must not be empty',
    ],
    [
      'witness_file not a path',
      'audit',
      { witness_file: 5 },
      'audit.witness_file',
      'must be a path',
    ],
    ['unknown top-level key', 'listn', L, 'listn', 'is not a known key'],
    ['missing accords', 'accords', undefined, 'accords', 'is required'],
    ['accords not a list', 'accords', { id: 'x' }, 'accords', 'must be a list of accords'],
    ['accord not a mapping', 'accords[0]', 'ops-exec', 'accords[0]', 'must be a mapping'],
    ['missing accord id', 'accords[0].id', undefined, 'accords[0].id', 'is required'],
    ['uppercase accord id', 'accords[0].id', 'Ops', 'accords[0].id', /^must be 1-64 characters/],
    [
      'accord id starting with -',
      'accords[0].id',
      '-ops',
      'accords[0].id',
      /^must be 1-64 characters/,
    ],
    [
      'accord id of 65 characters',
      'accords[0].id',
      'a'.repeat(65),
      'accords[0].id',
      /^must be 1-64 characters/,
    ],
    ['numeric accord id', 'accords[0].id', 7, 'accords[0].id', 'must be a string'],
    [
      'missing principals',
      'accords[0].principals',
      undefined,
      'accords[0].principals',
      'is required',
    ],
    [
      'empty principals',
      'accords[0].principals',
      [],
      'accords[0].principals',
      'must list at least one principal',
    ],
    [
      'bad principal',
      'accords[0].principals',
      [BOB, 'bob'],
      'accords[0].principals[1]',
      /^must be a did:key DID/,
    ],
    [
      'duplicate principal',
      'accords[0].principals',
      [BOB, BOB],
      'accords[0].principals[1]',
      'duplicates an earlier entry',
    ],
    [
      'empty connectors',
      'accords[0].connectors',
      [],
      'accords[0].connectors',
      'must list at least one connector',
    ],
    [
      'uppercase connector',
      'accords[0].connectors',
      ['ssh', 'SSH'],
      'accords[0].connectors[1]',
      /^must be a connector name/,
    ],
    [
      'connector starting with a digit',
      'accords[0].connectors',
      ['1ssh'],
      'accords[0].connectors[0]',
      /^must be a connector name/,
    ],
    [
      'duplicate connector',
      'accords[0].connectors',
      ['ssh', 'ssh'],
      'accords[0].connectors[1]',
      'duplicates an earlier entry',
    ],
    [
      'connectors not a list',
      'accords[0].connectors',
      'ssh',
      'accords[0].connectors',
      'must be a list of connector names',
    ],
    [
      'empty targets',
      'accords[0].targets',
      [],
      'accords[0].targets',
      'must list at least one target',
    ],
    [
      'ambiguous IPv4 target',
      'accords[0].targets',
      ['db1.test', '010.0.0.1'],
      'accords[0].targets[1]',
      /^must be a hostname, IPv4 or IPv6 address/,
    ],
    [
      'short IPv4 pattern',
      'accords[0].targets',
      ['10.*'],
      'accords[0].targets[0]',
      /an IPv4 pattern spells four octets/,
    ],
    ['numeric target', 'accords[0].targets', [127], 'accords[0].targets[0]', /^must be a hostname/],
    [
      'target with userinfo',
      'accords[0].targets',
      ['https://u@h.test'],
      'accords[0].targets[0]',
      /^must be a hostname/,
    ],
    [
      'targets equal once canonical',
      'accords[0].targets',
      ['db1.test', 'DB1.test.'],
      'accords[0].targets[1]',
      'duplicates an earlier entry',
    ],
    [
      'empty capabilities',
      'accords[0].capabilities',
      [],
      'accords[0].capabilities',
      'must list at least one capability',
    ],
    [
      'unknown capability',
      'accords[0].capabilities',
      ['read', 'fly'],
      'accords[0].capabilities[1]',
      'must be one of read, exec, write, admin',
    ],
    [
      'duplicate capability',
      'accords[0].capabilities',
      ['read', 'read'],
      'accords[0].capabilities[1]',
      'duplicates an earlier entry',
    ],
    ['commands null', 'accords[0].commands', null, 'accords[0].commands', /^must be a mapping/],
    [
      'commands a list',
      'accords[0].commands',
      ['uptime'],
      'accords[0].commands',
      /^must be a mapping/,
    ],
    [
      'allow not a list',
      'accords[0].commands',
      { allow: 'uptime' },
      'accords[0].commands.allow',
      'must be a list of command patterns',
    ],
    [
      'empty allow pattern',
      'accords[0].commands',
      { allow: [''] },
      'accords[0].commands.allow[0]',
      'must not be empty',
    ],
    [
      'long deny pattern',
      'accords[0].commands',
      { deny: ['x'.repeat(257)] },
      'accords[0].commands.deny[0]',
      'must be at most 256 characters long',
    ],
    [
      'deny pattern with a newline',
      'accords[0].commands',
      { deny: ['a\nb'] },
      'accords[0].commands.deny[0]',
      'must not contain control characters',
    ],
    [
      'numeric allow pattern',
      'accords[0].commands',
      { allow: [5] },
      'accords[0].commands.allow[0]',
      'must be a string',
    ],
    [
      'duplicate deny pattern',
      'accords[0].commands',
      { deny: ['a', 'a'] },
      'accords[0].commands.deny[1]',
      'duplicates an earlier entry',
    ],
    [
      'misspelt allow',
      'accords[0].commands',
      { alow: ['uptime'] },
      'accords[0].commands.alow',
      'is not a known key',
    ],
    [
      'missing max_duration',
      'accords[0].max_duration',
      undefined,
      'accords[0].max_duration',
      'is required',
    ],
    [
      'zero max_duration',
      'accords[0].max_duration',
      0,
      'accords[0].max_duration',
      'must be a duration greater than zero',
    ],
    [
      'negative max_duration',
      'accords[0].max_duration',
      -60,
      'accords[0].max_duration',
      'must be a duration greater than zero',
    ],
    [
      'fractional max_duration',
      'accords[0].max_duration',
      1.5,
      'accords[0].max_duration',
      'must be a whole number of seconds',
    ],
    [
      'spaced max_duration',
      'accords[0].max_duration',
      '15 m',
      'accords[0].max_duration',
      /^must be a duration such as/,
    ],
    [
      'overflowing max_duration',
      'accords[0].max_duration',
      '9999999999d',
      'accords[0].max_duration',
      'is too long a duration',
    ],
    [
      'null max_duration',
      'accords[0].max_duration',
      null,
      'accords[0].max_duration',
      /^must be a duration such as/,
    ],
    [
      'approvals not a mapping',
      'accords[0].approvals',
      2,
      'accords[0].approvals',
      /^must be a mapping/,
    ],
    [
      'approvals without required',
      'accords[0].approvals',
      {},
      'accords[0].approvals.required',
      'is required',
    ],
    [
      'negative required',
      'accords[0].approvals',
      { required: -1 },
      'accords[0].approvals.required',
      'must not be negative',
    ],
    [
      'fractional required',
      'accords[0].approvals',
      { required: 0.5 },
      'accords[0].approvals.required',
      'must be a whole number',
    ],
    [
      'required above approvers',
      'accords[0].approvals',
      { required: 2, approvers: [ALICE] },
      'accords[0].approvals.required',
      'must not exceed the number of approvers',
    ],
    [
      'required without approvers',
      'accords[0].approvals',
      { required: 1 },
      'accords[0].approvals.required',
      'must not exceed the number of approvers',
    ],
    [
      'bad approver',
      'accords[0].approvals',
      { required: 1, approvers: ['x'] },
      'accords[0].approvals.approvers[0]',
      /^must be a did:key DID/,
    ],
    [
      'duplicate approver',
      'accords[0].approvals',
      { required: 2, approvers: [ALICE, ALICE] },
      'accords[0].approvals.approvers[1]',
      'duplicates an earlier entry',
    ],
    [
      'misspelt approvers',
      'accords[0].approvals',
      { required: 0, aprovers: [] },
      'accords[0].approvals.aprovers',
      'is not a known key',
    ],
    [
      'empty time_windows',
      'accords[0].time_windows',
      [],
      'accords[0].time_windows',
      /^must list at least one time window/,
    ],
    [
      'time window not a mapping',
      'accords[0].time_windows',
      ['9-5'],
      'accords[0].time_windows[0]',
      /^must be a mapping with days, start, end/,
    ],
    [
      'window without days',
      'accords[0].time_windows',
      [{ start: '09:00', end: '17:00' }],
      'accords[0].time_windows[0].days',
      'is required',
    ],
    [
      'window with no days',
      'accords[0].time_windows',
      [{ days: [], start: '09:00', end: '17:00' }],
      'accords[0].time_windows[0].days',
      'must list at least one day',
    ],
    [
      'window with a long day name',
      'accords[0].time_windows',
      [{ days: ['monday'], start: '09:00', end: '17:00' }],
      'accords[0].time_windows[0].days[0]',
      /^must be one of mon, tue/,
    ],
    [
      'window with a repeated day',
      'accords[0].time_windows',
      [{ days: ['mon', 'mon'], start: '09:00', end: '17:00' }],
      'accords[0].time_windows[0].days[1]',
      'duplicates an earlier entry',
    ],
    [
      'window start without a leading zero',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '9:00', end: '17:00' }],
      'accords[0].time_windows[0].start',
      'must be a time of day as HH:MM (00:00 to 23:59)',
    ],
    [
      'window starting at 24:00',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '24:00', end: '06:00' }],
      'accords[0].time_windows[0].start',
      'must be a time of day as HH:MM (00:00 to 23:59)',
    ],
    [
      'window ending at 24:01',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '09:00', end: '24:01' }],
      'accords[0].time_windows[0].end',
      'must be a time of day as HH:MM (00:00 to 24:00)',
    ],
    [
      'window ending at 17:60',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '09:00', end: '17:60' }],
      'accords[0].time_windows[0].end',
      'must be a time of day as HH:MM (00:00 to 24:00)',
    ],
    [
      'window with a numeric start',
      'accords[0].time_windows',
      [{ days: ['mon'], start: 900, end: '17:00' }],
      'accords[0].time_windows[0].start',
      /^must be a time of day/,
    ],
    [
      'window without an end',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '09:00' }],
      'accords[0].time_windows[0].end',
      'is required',
    ],
    [
      'empty window',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '09:00', end: '09:00' }],
      'accords[0].time_windows[0].end',
      'must differ from start',
    ],
    [
      'unknown time zone',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '09:00', end: '17:00', tz: 'Mars/Olympus_Mons' }],
      'accords[0].time_windows[0].tz',
      /^must be an IANA time zone/,
    ],
    [
      'misspelt tz',
      'accords[0].time_windows',
      [{ days: ['mon'], start: '09:00', end: '17:00', timezone: 'UTC' }],
      'accords[0].time_windows[0].timezone',
      'is not a known key',
    ],
    [
      'bad accord admin',
      'accords[0].admins',
      ['root'],
      'accords[0].admins[0]',
      /^must be a did:key DID/,
    ],
    [
      'duplicate accord admin',
      'accords[0].admins',
      [CAROL, CAROL],
      'accords[0].admins[1]',
      'duplicates an earlier entry',
    ],
    [
      'ssh_login *',
      'accords[0].ssh_login',
      '*',
      'accords[0].ssh_login',
      /^must be a POSIX login name/,
    ],
    [
      'uppercase ssh_login',
      'accords[0].ssh_login',
      'Deploy',
      'accords[0].ssh_login',
      /^must be a POSIX login name/,
    ],
    [
      'ssh_login of 33 characters',
      'accords[0].ssh_login',
      'a'.repeat(33),
      'accords[0].ssh_login',
      /^must be a POSIX login name/,
    ],
    [
      'ssh_login with a comma',
      'accords[0].ssh_login',
      'a,b',
      'accords[0].ssh_login',
      /^must be a POSIX login name/,
    ],
    [
      'an accord allowing ssh without ssh_login (no certificate could be issued)',
      'accords[0].ssh_login',
      undefined,
      'accords[0].ssh_login',
      'is required: accord ops-exec allows the ssh connector',
    ],
    [
      'kerberos_principals for a DID not among principals',
      'accords[0].kerberos_principals',
      { [ALICE]: 'alice@EXAMPLE.TEST' },
      `accords[0].kerberos_principals.${ALICE}`,
      "must be one of the accord's principals",
    ],
    [
      'kerberos_principals keyed by something not a DID',
      'accords[0].kerberos_principals',
      { bob: 'bob@EXAMPLE.TEST' },
      'accords[0].kerberos_principals.bob',
      'must be a mapping from did:key DIDs to Kerberos user principals',
    ],
    ...[
      ['a service principal', 'host/win1.example.test@EXAMPLE.TEST'],
      ['krbtgt', 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST'],
      ['a wildcard name', '*@EXAMPLE.TEST'],
      ['a wildcard realm', 'bob@*'],
      ['no realm', 'bob'],
      ['an empty realm', 'bob@'],
      ['an empty name', '@EXAMPLE.TEST'],
      ['two @', 'bob@x@EXAMPLE.TEST'],
      ['a lower-case realm', 'bob@example.test'],
      ['a space', 'bob smith@EXAMPLE.TEST'],
      ['a control character', 'bob\u0000@EXAMPLE.TEST'],
      ['a non-string', 42],
    ].map(([what, value]): [string, string, unknown, string, RegExp] => [
      `kerberos_principals to ${what as string}`,
      'accords[0].kerberos_principals',
      { [BOB]: value },
      `accords[0].kerberos_principals.${BOB}`,
      /^must be a Kerberos user principal name@REALM/,
    ]),
    [
      'an unknown oauth.sender_constrained',
      'accords[0].oauth',
      { sender_constrained: 'sometimes' },
      'accords[0].oauth.sender_constrained',
      'must be one of required, preferred, off',
    ],
    [
      'misspelt accord key',
      'accords[0].max_duraton',
      '15m',
      'accords[0].max_duraton',
      'is not a known key',
    ],
  ];
  for (const [what, path, value, where, why] of cases) {
    it(`refuses ${what} at ${where}`, () => {
      assert.throws(() => parse(edit(base(), path, value)), configError(`c.yaml: ${where}`, why));
    });
  }

  it('reports a misspelt key rather than the required key it hides', () => {
    const doc = edit(base(), 'accords[0].max_duration', undefined);
    edit(doc, 'accords[0].max_duraton', '15m');
    assert.throws(
      () => parse(doc),
      configError('c.yaml: accords[0].max_duraton', 'is not a known key'),
    );
  });

  it('refuses a duplicate accord id at the later accord', () => {
    const doc = base();
    const accords = doc['accords'] as Json[];
    accords.push({ ...accords[0], id: 'other' }, { ...accords[0] });
    assert.throws(
      () => parse(doc),
      configError('c.yaml: accords[2].id', 'duplicates the id of accords[0]'),
    );
  });

  it('reports a fault in a later accord by its index', () => {
    const doc = base();
    const accords = doc['accords'] as Json[];
    accords.push({ ...accords[0], id: 'second', connectors: ['ssh', 'Bad'] });
    assert.throws(
      () => parse(doc),
      configError('c.yaml: accords[1].connectors[1]', /^must be a connector name/),
    );
  });

  it('refuses a file that is not a mapping', () => {
    for (const text of ['', '# nothing\n', '- a\n- b\n', '42\n', 'just text\n']) {
      assert.throws(
        () => parseConfig(text, 'c.yaml'),
        configError('c.yaml: (top level)', 'the file must hold a YAML mapping'),
      );
    }
  });

  it('names an unknown key only when it looks like a key', () => {
    const cases: [string, string][] = [
      ['maxDuration', 'accords[0].maxDuration'],
      ['max-duration', 'accords[0].max-duration'],
      ['api_key_2', 'accords[0].(unrecognised key)'],
      ['a'.repeat(33), 'accords[0].(unrecognised key)'],
      ['sk+live', 'accords[0].(unrecognised key)'],
    ];
    for (const [key, where] of cases) {
      const doc = edit(base(), `accords[0].${key}`, 1);
      assert.throws(() => parse(doc), configError(`c.yaml: ${where}`, 'is not a known key'));
    }
  });

  it('does not let __proto__ or merge keys through', () => {
    const proto = `${SAMPLE}__proto__: { polluted: true }\n`;
    assert.throws(
      () => parseConfig(proto, 'c.yaml'),
      configError('c.yaml: __proto__', 'is not a known key'),
    );
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    const merge = SAMPLE.replace(
      '    approvals: { required: 0 }\n',
      '    <<: { approvals: { required: 0 } }\n',
    );
    assert.throws(
      () => parseConfig(merge, 'c.yaml'),
      configError('c.yaml: accords[0].(unrecognised key)', 'is not a known key'),
    );
  });
});

describe('parseConfig: YAML itself', () => {
  const cases: [string, string, string, string | RegExp][] = [
    // [what, text, where, why]
    [
      'a duplicate key',
      `listen: ${'127.0.0.1:1'}\nlisten: 127.0.0.1:2\n`,
      'line 2, column 1',
      'repeats a key already set in the same mapping',
    ],
    [
      'a duplicate key in an accord',
      SAMPLE.replace('    max_duration: 15m\n', '    max_duration: 15m\n    max_duration: 1h\n'),
      'line 12, column 5',
      'repeats a key already set in the same mapping',
    ],
    [
      'two documents',
      `${SAMPLE}---\nlisten: 127.0.0.1:1\n`,
      'line 14, column 1',
      'starts a second YAML document; the file must hold exactly one',
    ],
    [
      'an unknown tag',
      `${SAMPLE}issuer: !!js/function "x"\n`,
      'line 14, column 9',
      'uses a YAML tag this loader does not know',
    ],
    [
      'a local tag',
      `${SAMPLE}issuer: !secret "x"\n`,
      'line 14, column 9',
      'uses a YAML tag this loader does not know',
    ],
    ['a collection as a key', `? [a]\n: 1\n`, 'line 1, column 3', 'uses a non-scalar mapping key'],
    ['an unclosed quote', `listen: "127.0.0.1:1\n`, 'line 2, column 1', /^is not valid YAML/],
    [
      'an unclosed flow sequence',
      `admins: [a, b\nlisten: x\n`,
      'line 2, column 1',
      /^is not valid YAML/,
    ],
    [
      'an unquoted bracketed IPv6 listen',
      `listen: [::1]:8443\n`,
      'line 1, column 14',
      /^is not valid YAML/,
    ],
    [
      'an alias to nothing',
      `listen: *nowhere\n`,
      'line 1, column 9',
      'is not valid YAML (an alias to an unknown anchor)',
    ],
    [
      'an alias before its anchor',
      `listen: *a\ndata_dir: &a x\n`,
      'line 1, column 9',
      'is not valid YAML (an alias to an unknown anchor)',
    ],
  ];
  for (const [what, text, where, why] of cases) {
    it(`refuses ${what} with its position`, () => {
      assert.throws(() => parseConfig(text, 'c.yaml'), configError(`c.yaml: ${where}`, why));
    });
  }

  it('refuses an alias bomb', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
      '',
    ].join('\n');
    assert.throws(
      () => parseConfig(bomb, 'c.yaml'),
      configError('c.yaml', /^uses YAML aliases too heavily/),
    );
  });

  it('refuses a file over the size limit', () => {
    const big = `${SAMPLE}# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`;
    assert.throws(
      () => parseConfig(big, 'c.yaml'),
      configError('c.yaml', `is larger than ${MAX_CONFIG_BYTES} bytes`),
    );
  });
});

describe('parseConfig: errors never carry values from the file', () => {
  it('names keys, not what was put in them', () => {
    const marker = newMarker();
    const texts = [
      SAMPLE.replace('listen: 127.0.0.1:8443', `listen: ${marker}`),
      SAMPLE.replace('data_dir: ./.bastion', `data_dir: [${marker}]`),
      SAMPLE.replace(`admins: [${ALICE}]`, `admins: [${marker}]`),
      SAMPLE.replace('"127.0.0.1"', `"https://${marker}@h.test"`),
      SAMPLE.replace('15m', `${marker}m`),
      SAMPLE.replace('[read, exec]', `[read, ${marker}]`),
      SAMPLE.replace('id: ops-exec', `id: ${marker}`),
      `${SAMPLE}password: ${marker}\n`,
      `${SAMPLE}log_level: ${marker}\n`,
      `${SAMPLE}${marker}: 1\n`,
      `${SAMPLE}ghp_${marker}: 1\n`,
      `${SAMPLE}"${marker} x": 1\n`,
      `${SAMPLE}"${marker}.x": 1\n`,
      `listen: "${marker}\n`,
      `listen: ${marker}\nlisten: ${marker}\n`,
      `${SAMPLE}issuer: !${marker} x\n`,
    ];
    for (const text of texts) {
      assert.throws(
        () => parseConfig(text, 'c.yaml'),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          expectNoMarker(
            `${err.message} ${JSON.stringify(err)} ${String(err.stack)}`,
            marker,
            'config error',
          );
          return true;
        },
      );
    }
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and resolves data_dir next to it', () => {
    const file = join(dir, 'bastion.yaml');
    writeFileSync(file, SAMPLE);
    const config = loadConfig(file);
    assert.equal(config.file, file);
    assert.equal(config.data_dir, join(dir, '.bastion'));
    assert.equal(config.accords.length, 1);
  });

  it('reports a missing file by name and errno code', () => {
    const file = join(dir, 'missing.yaml');
    assert.throws(() => loadConfig(file), configError(file, 'cannot be read (ENOENT)'));
  });

  it('reports a directory as unreadable', () => {
    assert.throws(() => loadConfig(dir), configError(dir, 'cannot be read (EISDIR)'));
  });

  it('refuses an oversized file before reading it', () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `${SAMPLE}# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    assert.throws(
      () => loadConfig(file),
      configError(file, `is larger than ${MAX_CONFIG_BYTES} bytes`),
    );
  });

  it('labels errors with the file name', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, SAMPLE.replace('15m', '15x'));
    assert.throws(
      () => loadConfig(file),
      configError(`${file}: accords[0].max_duration`, /^must be a duration/),
    );
  });
});

describe('parseConfig: defaults, environment and file, in that order', () => {
  const minimal = 'accords: []\n';
  it('defaults listen to 127.0.0.1:8443 and data_dir to .bastion beside the file', () => {
    const c = parseConfig(minimal, '/etc/bastion/bastion.yaml', {});
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8443 });
    assert.equal(c.data_dir, '/etc/bastion/.bastion');
    assert.equal(c.public_url, undefined);
  });
  it('lets the environment override the defaults', () => {
    const env = {
      BASTION_LISTEN: '127.0.0.1:9000',
      BASTION_DATA_DIR: '/var/lib/bastion',
      BASTION_PUBLIC_URL: 'https://Broker.Example.test/',
    };
    const c = parseConfig(minimal, '/etc/bastion/bastion.yaml', env);
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 9000 });
    assert.equal(c.data_dir, '/var/lib/bastion');
    assert.equal(c.public_url, 'https://broker.example.test');
  });
  it('lets the file override the environment', () => {
    const env = { BASTION_LISTEN: '127.0.0.1:9000', BASTION_DATA_DIR: '/var/lib/bastion' };
    const c = parseConfig(
      `listen: 127.0.0.1:7000\ndata_dir: ./d\n${minimal}`,
      '/etc/bastion/bastion.yaml',
      env,
    );
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 7000 });
    assert.equal(c.data_dir, '/etc/bastion/d');
  });
  it('refuses a bad environment value, naming the variable and not the value', () => {
    const marker = newMarker();
    assert.throws(
      () => parseConfig(minimal, 'x.yaml', { BASTION_LISTEN: `${marker}:99999` }),
      (e: unknown) =>
        e instanceof ConfigError && /BASTION_LISTEN/.test(e.message) && !e.message.includes(marker),
    );
  });
});

describe('parseConfig: backends and connectors, the sections plugins own', () => {
  const AS = {
    token_endpoint: 'https://as.example.test/token',
    issuer: 'https://as.example.test',
    client_id: 'bastion',
  };
  const kinds = (config: BastionConfig) => config.backends.map((b) => `${b.kind}@${b.where}`);

  it('reads the list in the order written, with the built-in Bascule grants last', () => {
    const config = parse(
      edit(base(), 'backends', [
        { kind: 'dev' },
        { kind: 'oauth_exchange', id: 'corp', ...AS },
        { kind: 'oauth_exchange', id: 'spare', ...AS },
      ]),
    );
    assert.deepEqual(kinds(config), [
      'dev@backends[0]',
      'oauth_exchange@backends[1]',
      'oauth_exchange@backends[2]',
      'bascule@backends.bascule',
    ]);
    assert.equal((config.backends[1]?.settings as { id: string }).id, 'corp');
    assert.equal(config.warnings.length, 1, 'the dev backend says it is for development');
  });

  it('builds no dev backend unless it is listed', () => {
    assert.deepEqual(kinds(parse(base())), ['bascule@backends.bascule']);
    assert.deepEqual(parse(base()).warnings, []);
  });

  it('still reads the mapping form, in its old order and dev on by default, and says it is deprecated', () => {
    const config = parse(
      edit(base(), 'backends', {
        entra: [{ authority: AS.issuer, client_id: 'b' }],
        oauth_exchange: [AS],
      }),
    );
    assert.deepEqual(kinds(config), [
      'oauth_exchange@backends.oauth_exchange[0]',
      'entra@backends.entra[0]',
      'dev@backends.dev',
      'bascule@backends.bascule',
    ]);
    assert.match(
      config.warnings[0] ?? '',
      /mapping form .* is deprecated.*reads as: oauth_exchange, entra, dev/,
    );
    const off = parse(edit(base(), 'backends', { dev: false }));
    assert.deepEqual(kinds(off), ['bascule@backends.bascule']);
    assert.throws(
      () =>
        parse(edit(base(), 'backends', { oauth_exchange: [{ ...AS, token_endpoint: 'ftp://x' }] })),
      configError(
        'c.yaml: backends.oauth_exchange[0].token_endpoint',
        'must be an https URL (http only to a loopback address)',
      ),
    );
    assert.throws(
      () => parse(edit(base(), 'backends', { vault: [] })),
      configError('c.yaml: backends.vault', 'is not a known key'),
    );
  });

  it('names the entry and the key of every refusal', () => {
    assert.throws(
      () => parse(edit(base(), 'backends', 'dev')),
      configError('c.yaml: backends', 'must be a list of backends (- kind: …)'),
    );
    assert.throws(
      () => parse(edit(base(), 'backends', [{ id: 'x' }])),
      configError('c.yaml: backends[0].kind', 'is required'),
    );
    assert.throws(
      () => parse(edit(base(), 'backends', [{ kind: 'dev', colour: 'red' }])),
      configError('c.yaml: backends[0].colour', 'is not a known key'),
    );
    assert.throws(
      () => parse(edit(base(), 'backends', [{ kind: 'oauth_exchange', ...AS, client_id: 7 }])),
      configError('c.yaml: backends[0].client_id', 'must be a string'),
    );
    assert.throws(
      () => parse(edit(base(), 'connectors', { telnet: {} })),
      configError('c.yaml: connectors.telnet', 'is not a known key'),
    );
    assert.throws(
      () => parse(edit(base(), 'connectors', { ssh: { port: 0 } })),
      configError('c.yaml: connectors.ssh.port', 'must be at least 1'),
    );
    // Each certificate's source-address: addresses or CIDR blocks, never names.
    const sources = ['10.0.0.5', '203.0.113.0/24', '2001:db8::/64'];
    const withSources = parse(edit(base(), 'connectors', { ssh: { source_addresses: sources } }));
    assert.deepEqual(
      (connectorSettings(withSources, 'ssh') as SshSettings).source_addresses,
      sources,
    );
    for (const bad of ['bastion.internal', '10.0.0.5/33', '::1/129', '10.0.0.0/8/1', '10.0.0.5/']) {
      assert.throws(
        () => parse(edit(base(), 'connectors', { ssh: { source_addresses: [bad] } })),
        configError('c.yaml: connectors.ssh.source_addresses[0]', /IP address or CIDR block/),
        bad,
      );
    }
  });
});
