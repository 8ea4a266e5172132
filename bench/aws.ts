/**
 * Child process (pinned to one core): B3 for `aws_sts`, what minting an AWS credential
 * costs against the raw STS call it wraps, both against the same moto server (started
 * here, so on the same core) in the same run, timed with tinybench:
 * - baseline: `AssumeRole` through a plain `STSClient` (the SDK's defaults) with the very
 *   input the backend sends (session policy, source identity, tags);
 * - `AwsStsBackend.resolve('aws')` + zero-fill: the session policy, our HTTP handler and
 *   bounded reply reader, the reply checks, the Secrets;
 * - the same through `CredentialResolver` with revocation (checks, clamping, then the
 *   IAM `PutRolePolicy` of the deny-older-sessions policy, and the zero-fill).
 * moto answers in milliseconds (Python), so the ratios say what Bastion adds to an issuer's
 * round trip, not what AWS itself costs. Where moto is not installed the phase says so.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsStsBackend } from '../src/backends/aws-sts/aws-sts-backend.js';
import {
  sessionName,
  sessionPolicy,
  sessionTags,
  sourceIdentity,
} from '../src/backends/aws-sts/session.js';
import { silentLogger } from '../src/base/logger.js';
import { CredentialResolver } from '../src/credentials/resolver.js';
import { disposeCredential, type AcContext } from '../src/credentials/types.js';
import {
  BUCKET,
  type Moto,
  MOTO_REGION,
  motoInstalled,
  ROLE_ARN,
  startMoto,
} from '../test/helpers/moto.js';
import { serveParent } from './lib/child.js';
import { measure, type MicroTask } from './lib/measure.js';

export interface AwsResult {
  /** Undefined when moto is not installed. */
  readonly tasks: Record<string, MicroTask> | undefined;
}

let moto: Moto | undefined;
const backends: AwsStsBackend[] = [];

async function run(args: unknown): Promise<AwsResult> {
  const { quick } = args as { quick: boolean };
  if (!motoInstalled()) return { tasks: undefined };
  moto = await startMoto();
  const target = moto.url;
  const rules = {
    actions: { read: ['s3:GetObject'] },
    resources: [{ targets: [target], arns: [`arn:aws:s3:::${BUCKET}/*`] }],
  };
  const ac: AcContext = {
    ac_id: '00000000-0000-4000-8000-000000000000',
    principal_did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    capability_mask: 1,
    capabilities: ['read'],
    accord_template: 'bench',
    connector: 'http',
    target,
    expires_at: Math.floor(Date.now() / 1000) + 3600,
  };
  const identity = () => Promise.resolve(moto?.broker ?? { accessKeyId: '', secretAccessKey: '' });
  const make = async (revoke: 'none' | 'sessions_issued_before_now') => {
    const b = await AwsStsBackend.create({
      roleArn: ROLE_ARN,
      region: MOTO_REGION,
      endpoint: target,
      iamEndpoint: target,
      identity,
      sessionPolicy: rules,
      revoke,
      logger: silentLogger,
    });
    backends.push(b);
    return b;
  };
  const backend = await make('none');
  const resolver = new CredentialResolver({ logger: silentLogger });
  resolver.register(await make('sessions_issued_before_now'));
  const raw = new STSClient({ endpoint: target, region: MOTO_REGION, credentials: identity });
  const input = {
    RoleArn: ROLE_ARN,
    RoleSessionName: sessionName(ac),
    DurationSeconds: 900,
    Policy: sessionPolicy(rules, ac.capabilities, target).policy,
    SourceIdentity: sourceIdentity({}, ac.principal_did),
    Tags: sessionTags(ac),
  };

  const tasks = await measure(
    {
      'raw.assumeRole': () => raw.send(new AssumeRoleCommand(input)),
      'aws_sts.resolve+dispose': async () => {
        disposeCredential(await backend.resolve('aws', target, ac));
      },
      'aws_sts.resolver+revoke': async () => {
        await resolver.discard(await resolver.resolve('aws', target, ac));
      },
    },
    { rounds: quick ? 3 : 5, timeMs: quick ? 300 : 1000 },
  );
  raw.destroy();
  return { tasks };
}

serveParent({ run }, async () => {
  for (const b of backends) await b.close();
  await moto?.stop();
});
