/**
 * Issue #17 item 3, AWS, in our code: the HTTP connector binds the one request an `aws`
 * credential will sign; operation-scope.ts maps an S3 request to its one action and ARN
 * (path-style, virtual-hosted, under a base path; a listing to the bucket) and narrows the
 * accord's session policy to exactly that, refusing what the accord does not allow. What
 * it cannot map with certainty keeps the accord's policy, never a broader one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { narrowToOperation, s3Scope } from '../../src/backends/aws-sts/operation-scope.js';
import { sessionPolicy } from '../../src/backends/aws-sts/session.js';
import { HttpConnector } from '../../src/connectors/http/connector.js';
import type { AwsRequest } from '../../src/credentials/binding.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';

const MOTO = 'http://127.0.0.1:5000';
const get = (path: string, queryKeys: string[] = []): AwsRequest => ({
  service: 's3',
  method: 'GET',
  path,
  queryKeys,
});

const accord = sessionPolicy(
  {
    actions: { read: ['s3:Get*', 's3:ListBucket'], write: ['s3:PutObject'] },
    resources: [{ targets: [MOTO], arns: ['arn:aws:s3:::proof/*', 'arn:aws:s3:::proof'] }],
  },
  ['read'],
  MOTO,
);

describe('an S3 request as one action on one ARN', () => {
  it('maps path-style, virtual-hosted and base-path targets', () => {
    assert.deepEqual(s3Scope(MOTO, get('/proof/a/b%20c.txt')), {
      action: 's3:GetObject',
      arn: 'arn:aws:s3:::proof/a/b c.txt',
    });
    assert.deepEqual(
      s3Scope('https://proof.s3.eu-west-1.amazonaws.com', { ...get('/k'), method: 'PUT' }),
      { action: 's3:PutObject', arn: 'arn:aws:s3:::proof/k' },
    );
    assert.deepEqual(s3Scope('https://s3.amazonaws.com/proof', { ...get('/k'), method: 'HEAD' }), {
      action: 's3:GetObject',
      arn: 'arn:aws:s3:::proof/k',
    });
    assert.deepEqual(s3Scope(MOTO, get('/proof/', ['list-type', 'prefix'])), {
      action: 's3:ListBucket',
      arn: 'arn:aws:s3:::proof',
    });
  });

  it('maps nothing it is unsure of: another service, a sub-resource, an IAM wildcard in the key', () => {
    assert.equal(s3Scope(MOTO, { ...get('/proof/k'), service: 'execute-api' }), undefined);
    assert.equal(s3Scope(MOTO, get('/proof/k', ['acl'])), undefined);
    assert.equal(s3Scope(MOTO, get('/proof/', ['policy'])), undefined);
    for (const key of ['*', 'a%2A', 'a?', '${aws:username}']) {
      assert.equal(s3Scope(MOTO, get(`/proof/${key}`)), undefined, key);
    }
    assert.equal(s3Scope(MOTO, { ...get('/proof/k'), method: 'POST' }), undefined);
  });
});

describe("the accord's session policy narrowed to the operation", () => {
  it('is exactly the one action on the one object', () => {
    const narrowed = narrowToOperation(accord, MOTO, { awsRequest: get('/proof/hello.txt') });
    assert.deepEqual(JSON.parse(narrowed.policy), {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::proof/hello.txt'] },
      ],
    });
    assert.deepEqual(narrowed.actions, ['s3:GetObject']);
    assert.deepEqual(narrowed.arns, ['arn:aws:s3:::proof/hello.txt']);
  });

  it('refuses what the accord does not allow: another action, another bucket', () => {
    const refused = (e: unknown) =>
      e instanceof CredentialResolutionError && e.reason === 'invalid_credential_request';
    // The accord was issued for read: PutObject is outside it.
    const put = { awsRequest: { ...get('/proof/k'), method: 'PUT' } };
    assert.throws(() => narrowToOperation(accord, MOTO, put), refused);
    assert.throws(() => narrowToOperation(accord, MOTO, { awsRequest: get('/other/k') }), refused);
  });

  it("keeps the accord's policy without a binding or with a request it cannot map", () => {
    assert.equal(narrowToOperation(accord, MOTO, undefined), accord);
    assert.equal(narrowToOperation(accord, MOTO, { awsRequest: get('/proof/k', ['acl']) }), accord);
  });

  it('the HTTP connector binds the request for an aws target only', () => {
    const connector = new HttpConnector({
      credentials: [{ targets: [MOTO], type: 'aws', region: 'us-east-1', service: 's3' }],
    });
    const op = { method: 'GET' as const, path: '/proof/k', query: { versionId: '1' } };
    assert.deepEqual(connector.credentialBinding(op, MOTO), {
      awsRequest: { service: 's3', method: 'GET', path: '/proof/k', queryKeys: ['versionId'] },
    });
    assert.equal(connector.credentialBinding(op, 'https://api.example.test'), undefined);
  });
});
