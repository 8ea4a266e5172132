/**
 * An AssumeRole reply as the broker's `aws` credential, checked before anything is kept:
 * the key id, secret key and session token present and of a plausible shape (visible ASCII,
 * bounded), the expiry a valid time after the call started and no later than the duration
 * asked for (plus the clock skew) — a reply valid beyond what was asked for means the
 * issuer did not honour the request, and it is refused. The secret key and session token
 * are copied into Secrets, the one place they are kept; the SDK's JS strings are dropped.
 */
import type { AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { Secret } from '../../credentials/secret.js';
import type { AwsCredential } from '../../credentials/types.js';
import type { SessionRequest } from './session.js';

const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const SECRET_TEXT = /^[\x21-\x7e]{16,256}$/;
const TOKEN_TEXT = /^[\x21-\x7e]{16,8192}$/;

export interface IssuedSession {
  readonly target: string;
  readonly issuedBy: string;
  readonly roleArn: string;
  readonly request: SessionRequest;
  /** Epoch ms the call started. */
  readonly started: number;
  /** What was asked for, in seconds. */
  readonly durationSeconds: number;
  /** Allowance between the broker's clock and the issuer's, ms. */
  readonly skewMs: number;
}

export function awsCredential(
  reply: AssumeRoleCommandOutput,
  issued: IssuedSession,
): AwsCredential {
  const c = reply.Credentials;
  const expiration = c?.Expiration;
  const latest = issued.started + issued.durationSeconds * 1000 + issued.skewMs;
  if (
    c === undefined ||
    typeof c.AccessKeyId !== 'string' ||
    !ACCESS_KEY_ID.test(c.AccessKeyId) ||
    typeof c.SecretAccessKey !== 'string' ||
    !SECRET_TEXT.test(c.SecretAccessKey) ||
    typeof c.SessionToken !== 'string' ||
    !TOKEN_TEXT.test(c.SessionToken) ||
    !(expiration instanceof Date) ||
    !(expiration.getTime() > issued.started) ||
    expiration.getTime() > latest
  ) {
    throw new CredentialResolutionError(BackendReasons.failed);
  }
  const arn = reply.AssumedRoleUser?.Arn;
  return {
    type: 'aws',
    target: issued.target,
    accessKeyId: c.AccessKeyId,
    secretAccessKey: Secret.fromString(c.SecretAccessKey),
    sessionToken: Secret.fromString(c.SessionToken),
    ...(typeof arn === 'string' && arn.length <= 2048 ? { assumedRoleArn: arn } : {}),
    expiresAt: new Date(expiration.getTime()),
    scopedTo: `${issued.request.actions.join(' ')} on ${issued.request.arns.join(' ')} as ${issued.roleArn}`,
    issuedBy: issued.issuedBy,
    id: c.AccessKeyId,
  };
}
