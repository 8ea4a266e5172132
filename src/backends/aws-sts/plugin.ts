/**
 * `kind: aws_sts`: temporary AWS credentials from STS AssumeRole, narrowed to the AC by a
 * session policy (credential `aws`, which the HTTP connector signs requests with).
 */
import { z } from 'zod';
import { awsRegion, backendId, duration, endpointUrl, text } from '../../base/fields.js';
import { CAPABILITIES } from '../../governance/capabilities.js';
import { urlPatternField } from '../../governance/target-field.js';
import { defineBackendPlugin } from '../plugin.js';
import {
  AwsStsBackend,
  MAX_DURATION_SECONDS,
  MIN_DURATION_SECONDS,
  ROLE_ARN,
} from './aws-sts-backend.js';
import { REVOKE_MODES } from './revoke.js';
import { STS_NAME } from './session.js';

const roleArn = z
  .string({ error: 'must be an IAM role ARN' })
  .regex(ROLE_ARN, { error: 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)' });
const action = z
  .string({ error: 'must be an IAM action such as s3:GetObject' })
  .regex(/^[a-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128}$/, {
    error: 'must be an IAM action such as s3:GetObject',
  });
const arn = z
  .string({ error: 'must be a resource ARN' })
  .regex(/^(\*|arn:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9-]*:[0-9]*:[\x21-\x7e]{1,1024})$/, {
    error: 'must be a resource ARN (arn:partition:service:region:account:resource) or *',
  });

const sessionPolicy = z.strictObject(
  {
    /** Capability → the IAM actions it allows. */
    actions: z.partialRecord(
      z.enum(CAPABILITIES, { error: `must be a capability: ${CAPABILITIES.join(', ')}` }),
      z.array(action, { error: 'must be a list of IAM actions' }).min(1),
      { error: 'must map capabilities to lists of IAM actions' },
    ),
    /** Target → resource ARNs; the first rule whose targets match. */
    resources: z
      .array(
        z.strictObject(
          {
            targets: z
              .array(urlPatternField, { error: 'must be a list of target patterns' })
              .min(1),
            arns: z.array(arn, { error: 'must be a list of resource ARNs' }).min(1),
          },
          { error: 'must be a mapping with targets and arns' },
        ),
        { error: 'must be a list of {targets, arns}' },
      )
      .min(1, { error: 'must list at least one rule' }),
  },
  { error: 'must be a mapping with actions and resources' },
);

const settings = () =>
  z.strictObject(
    {
      id: backendId.optional(),
      role_arn: roleArn,
      region: awsRegion,
      endpoint: endpointUrl.optional(),
      iam_endpoint: endpointUrl.optional(),
      duration: duration(MAX_DURATION_SECONDS)
        .refine((s) => s >= MIN_DURATION_SECONDS, {
          error: `must be at least ${MIN_DURATION_SECONDS} seconds (STS's floor)`,
        })
        .optional(),
      session_policy: sessionPolicy,
      source_identity: z
        .record(text, z.string().regex(STS_NAME, { error: 'must be 2-64 of [A-Za-z0-9_+=,.@-]' }), {
          error: 'must map principal DIDs to source identities',
        })
        .optional(),
      revoke: z
        .enum(REVOKE_MODES, { error: `must be one of ${REVOKE_MODES.join(', ')}` })
        .optional(),
      timeout: duration(120).optional(),
    },
    { error: 'must be a mapping' },
  );

export const awsStsPlugin = defineBackendPlugin({
  kind: 'aws_sts',
  summary: 'Temporary AWS credentials by STS AssumeRole, narrowed by a session policy',
  settings,
  create: (s: z.output<ReturnType<typeof settings>>, deps) =>
    AwsStsBackend.create({
      ...(s.id !== undefined ? { id: s.id } : {}),
      roleArn: s.role_arn,
      region: s.region,
      ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
      ...(s.iam_endpoint !== undefined ? { iamEndpoint: s.iam_endpoint } : {}),
      ...(s.duration !== undefined ? { durationSeconds: s.duration } : {}),
      sessionPolicy: s.session_policy,
      ...(s.source_identity !== undefined ? { sourceIdentity: s.source_identity } : {}),
      ...(s.revoke !== undefined ? { revoke: s.revoke } : {}),
      ...(s.timeout !== undefined ? { timeoutMs: s.timeout * 1000 } : {}),
      clock: deps.clock,
      logger: deps.logger,
    }),
});
