/**
 * The `aws_sts` entry of `backends:` and the `aws` rule of `connectors.http.credentials`,
 * as an operator writes them: what is read, and every refusal naming its key (never quoting
 * the value). No AWS peer is needed here: nothing is built.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/base/errors.js';
import { connectorSettings, parseConfig } from '../../src/config/config.js';
import { sessionPolicy, sourceIdentity, sessionName } from '../../src/backends/aws-sts/session.js';
import { revokePolicy, roleNameOf } from '../../src/backends/aws-sts/revoke.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { acFor } from '../helpers/backends.js';

const ENTRY = `  - kind: aws_sts
    role_arn: arn:aws:iam::123456789012:role/bastion-target
    region: eu-west-1
    session_policy:
      actions: { read: [s3:GetObject] }
      resources: [{ targets: ["https://bucket.s3.eu-west-1.amazonaws.com"], arns: ["arn:aws:s3:::bucket/*"] }]
`;
const parse = (backends: string, connectors = '') =>
  parseConfig(`accords: []\n${connectors}backends:\n${backends}`, '/etc/bastion/c.yaml', {});

function refused(where: string, why: RegExp) {
  return (err: unknown): boolean =>
    err instanceof ConfigError &&
    err.message.startsWith(`Invalid configuration at /etc/bastion/c.yaml: ${where}: `) &&
    why.test(err.message);
}

describe('aws_sts configuration', () => {
  it('reads an entry with the defaults', () => {
    const config = parse(ENTRY);
    const entry = config.backends[0] as { kind: string; settings: Record<string, unknown> };
    assert.equal(entry.kind, 'aws_sts');
    assert.equal(entry.settings['region'], 'eu-west-1');
    assert.equal(entry.settings['duration'], undefined, '900 s by default');
  });

  it('refuses a duration under STS’s floor, a bad role ARN, action, ARN or revoke mode', () => {
    const cases: [string, string, RegExp][] = [
      ['    duration: 5m\n', 'backends[0].duration', /at least 900 seconds/],
      ['    duration: 13h\n', 'backends[0].duration', /at most 43200 seconds/],
      ['    revoke: this_one\n', 'backends[0].revoke', /sessions_issued_before_now, none/],
      ['    endpoint: http://sts.example.test\n', 'backends[0].endpoint', /loopback/],
      [
        '    source_identity: { "did:key:z6Mk": "a b" }\n',
        'backends[0].source_identity.(unrecognised key)',
        /2-64/,
      ],
    ];
    for (const [extra, where, why] of cases) {
      assert.throws(() => parse(ENTRY + extra), refused(where, why), where);
    }
    assert.throws(
      () => parse(ENTRY.replace('role/bastion-target', 'user/bob')),
      refused('backends[0].role_arn', /IAM role ARN/),
    );
    assert.throws(
      () => parse(ENTRY.replace('[s3:GetObject]', '["s3 GetObject"]')),
      refused('backends[0].session_policy.actions.read[0]', /IAM action/),
    );
    assert.throws(
      () => parse(ENTRY.replace('{ read:', '{ sudo:')),
      refused('backends[0].session_policy.actions.sudo', /is not a known key/),
    );
    assert.throws(
      () => parse(ENTRY.replace('"arn:aws:s3:::bucket/*"', '"bucket"')),
      refused('backends[0].session_policy.resources[0].arns[0]', /resource ARN/),
    );
    assert.throws(
      () => parse(ENTRY.replace(/ {4}session_policy:[\s\S]*/, '')),
      refused('backends[0].session_policy', /required|mapping/),
    );
  });

  it('routes an aws target only with its region and service, and takes them from no other type', () => {
    const rule = (r: string) => `connectors:\n  http:\n    credentials:\n      - ${r}\n`;
    const ok = parse(
      ENTRY,
      rule('{ targets: ["https://*.amazonaws.com"], type: aws, region: eu-west-1, service: s3 }'),
    );
    const rules = (connectorSettings(ok, 'http') as { credentials: { service: string }[] })
      .credentials;
    assert.equal(rules[0]?.service, 's3');
    assert.throws(
      () => parse(ENTRY, rule('{ targets: ["https://*.amazonaws.com"], type: aws, service: s3 }')),
      refused('connectors.http.credentials[0].region', /is required for type aws/),
    );
    assert.throws(
      () => parse(ENTRY, rule('{ targets: ["https://api.test"], type: oauth, service: s3 }')),
      refused('connectors.http.credentials[0].service', /is only for type aws/),
    );
    assert.throws(
      () =>
        parse(ENTRY, rule('{ targets: ["https://x.test"], type: aws, region: mars, service: s3 }')),
      refused('connectors.http.credentials[0].region', /AWS region/),
    );
  });
});

describe('aws_sts requests', () => {
  const rules = {
    actions: { read: ['s3:GetObject', 's3:ListBucket'], write: ['s3:PutObject'] },
    resources: [{ targets: ['https://bucket.test'], arns: ['arn:aws:s3:::bucket/*'] }],
  };
  const refusal = (reason: string) => (e: unknown) =>
    e instanceof CredentialResolutionError && e.reason === reason;

  it('narrows the session policy to the AC’s capabilities and target', () => {
    const read = sessionPolicy(rules, ['read'], 'https://bucket.test');
    assert.deepEqual(read.actions, ['s3:GetObject', 's3:ListBucket']);
    const both = sessionPolicy(rules, ['read', 'write'], 'https://bucket.test');
    assert.deepEqual(both.actions, ['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    assert.throws(
      () => sessionPolicy(rules, ['read'], 'https://other.test'),
      refusal('unsupported_target'),
    );
    assert.throws(
      () => sessionPolicy(rules, ['exec'], 'https://bucket.test'),
      refusal('invalid_credential_request'),
    );
    const huge = {
      ...rules,
      resources: [{ targets: ['https://bucket.test'], arns: ['arn:aws:s3:::' + 'b'.repeat(2100)] }],
    };
    assert.throws(
      () => sessionPolicy(huge, ['read'], 'https://bucket.test'),
      refusal('invalid_credential_request'),
    );
  });

  it('names the principal in STS’s characters, the session by its AC, the role by its ARN', () => {
    assert.equal(sourceIdentity({}, 'did:key:z6MkAbc'), 'did.key.z6MkAbc');
    assert.equal(
      sourceIdentity({ 'did:key:z6MkAbc': 'alice@corp' }, 'did:key:z6MkAbc'),
      'alice@corp',
    );
    assert.throws(
      () => sourceIdentity({}, `did:key:${'z'.repeat(80)}`),
      refusal('invalid_credential_request'),
    );
    assert.equal(
      sessionName(acFor('https://bucket.test', Date.now(), { ac_id: 'a/b c' })),
      'bastion-a-b-c',
    );
    assert.equal(roleNameOf('arn:aws:iam::123456789012:role/path/to/name'), 'name');
    const policy = JSON.parse(revokePolicy(new Date(0))) as { Statement: { Condition: unknown }[] };
    assert.deepEqual(policy.Statement[0]?.Condition, {
      DateLessThan: { 'aws:TokenIssueTime': '1970-01-01T00:00:00.000Z' },
    });
  });
});
