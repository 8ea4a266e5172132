/**
 * Issue #17 item 3, AWS, against a real moto server (STS, IAM, S3; authentication on): a
 * session bound to one S3 request is issued with a session policy of exactly that action
 * on exactly that object, and works for it on moto. What enforces what: moto checks the
 * signature, the session token and the ROLE's policies on every request, but does not apply
 * a session policy to the session's requests — so the refusal of a second object or action
 * is shown by moto's own IAM policy evaluator run on the policy the backend sent (captured
 * by a recording proxy in front of STS), not by a request that moto denies. Controls: the
 * same evaluator permits the second object under the unbound (accord-wide) policy, and the
 * role itself lets the session read it; an operation the accord does not allow is refused
 * before STS is asked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AwsStsBackend } from '../../src/backends/aws-sts/aws-sts-backend.js';
import type { CredentialBinding } from '../../src/credentials/binding.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import type { AwsCredential } from '../../src/credentials/types.js';
import { httpRequest } from '../../src/transports/http/request.js';
import { sigv4Signer } from '../../src/transports/http/sigv4.js';
import { type AwsProxy, formOf, startAwsProxy } from '../helpers/aws-proxy.js';
import { acFor } from '../helpers/backends.js';
import {
  BUCKET,
  MOTO_REGION,
  type Moto,
  motoPolicyDecisions,
  OBJECT_KEY,
  ROLE_ARN,
  skipWithoutMoto,
  startMoto,
} from '../helpers/moto.js';

const OBJECT_ARN = `arn:aws:s3:::${BUCKET}/${OBJECT_KEY}`;
const OTHER_ARN = `arn:aws:s3:::${BUCKET}/other.txt`;

describe(
  'aws_sts: a session narrowed to its one S3 request, against moto',
  { skip: skipWithoutMoto() },
  () => {
    let moto: Moto;
    let proxy: AwsProxy;
    let backend: AwsStsBackend;
    let target: string;
    const saved = { ...process.env };

    before(async () => {
      moto = await startMoto();
      proxy = await startAwsProxy(moto.url);
      target = moto.url;
      Object.assign(process.env, moto.env());
      backend = await AwsStsBackend.create({
        roleArn: ROLE_ARN,
        region: MOTO_REGION,
        endpoint: proxy.url,
        iamEndpoint: moto.url,
        revoke: 'none',
        sessionPolicy: {
          actions: { read: ['s3:GetObject'], write: ['s3:PutObject'] },
          resources: [{ targets: [target], arns: [`arn:aws:s3:::${BUCKET}/*`] }],
        },
      });
    });
    after(async () => {
      await backend?.close();
      process.env = saved;
      await proxy?.close();
      await moto?.stop();
    });

    const bound = (method: string, key = OBJECT_KEY): CredentialBinding => ({
      awsRequest: { service: 's3', method, path: `/${BUCKET}/${key}`, queryKeys: [] },
    });
    const ac = () =>
      acFor(target, Date.now(), { ac_id: 'ac-aws-scope', capabilities: ['read', 'write'] });

    /** The credential, and the session policy STS was sent for it. */
    async function issue(binding?: CredentialBinding): Promise<[AwsCredential, string]> {
      proxy.seen.length = 0;
      const c = await backend.resolve('aws', target, ac(), undefined, binding);
      return [c, formOf(proxy.seen[0]?.body ?? '')['Policy'] ?? ''];
    }
    const get = (c: AwsCredential, key: string) =>
      httpRequest({
        base: target,
        method: 'GET',
        path: `/${BUCKET}/${key}`,
        sign: sigv4Signer(c, { region: MOTO_REGION, service: 's3' }),
        limits: { maxOutputBytes: 65536, timeoutMs: 10_000 },
      });
    const dispose = (c: AwsCredential) => {
      c.secretAccessKey.dispose();
      c.sessionToken.dispose();
    };

    it('GET of one object: its policy allows GetObject on that object only; moto serves it', async () => {
      const [c, policy] = await issue(bound('GET'));
      try {
        assert.deepEqual(JSON.parse(policy), {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [OBJECT_ARN] }],
        });
        assert.match(c.scopedTo ?? '', new RegExp(`^s3:GetObject on ${OBJECT_ARN} as `));
        assert.equal((await get(c, OBJECT_KEY)).status, 200);
        const decisions = motoPolicyDecisions(policy, [
          ['s3:GetObject', OBJECT_ARN],
          ['s3:GetObject', OTHER_ARN],
          ['s3:PutObject', OBJECT_ARN],
        ]);
        assert.deepEqual(decisions, ['PERMITTED', 'NEUTRAL', 'NEUTRAL']);
      } finally {
        dispose(c);
      }
    });

    it('control: unbound, the accord-wide policy permits the second object and the write', async () => {
      const [c, policy] = await issue();
      try {
        const decisions = motoPolicyDecisions(policy, [
          ['s3:GetObject', OTHER_ARN],
          ['s3:PutObject', OBJECT_ARN],
        ]);
        assert.deepEqual(decisions, ['PERMITTED', 'PERMITTED']);
        // What moto itself enforces is the role's policy, which lets the session ask for
        // the second object: no AccessDenied, only no such key.
        assert.equal((await get(c, 'other.txt')).status, 404);
      } finally {
        dispose(c);
      }
    });

    it('an operation outside the accord (DeleteObject) is refused before STS is asked', async () => {
      proxy.seen.length = 0;
      await assert.rejects(
        backend.resolve('aws', target, ac(), undefined, bound('DELETE')),
        (e: unknown) =>
          e instanceof CredentialResolutionError && e.reason === 'invalid_credential_request',
      );
      assert.equal(proxy.seen.length, 0);
    });
  },
);
