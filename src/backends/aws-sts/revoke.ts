/**
 * Revoking STS sessions, the way AWS documents it ("revoking IAM role temporary security
 * credentials"): an inline policy on the role, `AWSRevokeOlderSessions`, that denies every
 * action to every session whose `aws:TokenIssueTime` is before a moment. STS has no way to
 * revoke one session: this revokes EVERY session of the role issued before that moment —
 * other invocations' in flight, and anyone else's — which is why it is a setting
 * (`revoke: sessions_issued_before_now`, the default, or `none`).
 *
 * The moment is now, by the broker's clock, and never earlier than one already written:
 * the policy has one name, so a late write with an older time would un-revoke sessions.
 * Best effort: a failure is logged (the AWS error code only) and never thrown; the session
 * then stays valid at AWS until its own expiry, which the audit's `issuer_expires_at`
 * records.
 */
import type { Clock } from '../../base/clock.js';
import { deadline } from '../../base/deadline.js';
import type { Logger } from '../../base/logger.js';
import type { AwsCredential } from '../../credentials/types.js';
import { type IamApi, sdkFailure } from './sdk.js';

export const REVOKE_MODES = ['sessions_issued_before_now', 'none'] as const;
export type RevokeMode = (typeof REVOKE_MODES)[number];

/** The name AWS's console gives the same policy, so an operator recognises it. */
export const REVOKE_POLICY_NAME = 'AWSRevokeOlderSessions';

/** The inline policy denying every session of the role issued before `before`. */
export function revokePolicy(before: Date): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': before.toISOString() } },
      },
    ],
  });
}

/** The role's name (what PutRolePolicy takes) from its ARN, path and all. */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}

export interface RevokerOptions {
  readonly roleArn: string;
  readonly mode: RevokeMode;
  /** The IAM client, made on first use. */
  readonly iam: () => Promise<IamApi>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeoutMs: number;
}

export class RoleRevoker {
  readonly #o: RevokerOptions;
  #iam: Promise<IamApi> | undefined;
  /** The latest moment written, epoch ms: never moved back. */
  #before = 0;

  constructor(options: RevokerOptions) {
    this.#o = options;
  }

  async revoke(credential: AwsCredential): Promise<void> {
    const { logger, roleArn } = this.#o;
    const about = {
      backend: credential.issuedBy,
      id: credential.id,
      issuerExpiresAt: credential.issuerExpiresAt ?? credential.expiresAt,
    };
    if (this.#o.mode === 'none') {
      logger.info(about, 'STS session not revoked (revoke: none); valid at AWS until its expiry');
      return;
    }
    this.#before = Math.max(this.#before, this.#o.clock.now());
    const before = new Date(this.#before);
    const limit = deadline(this.#o.timeoutMs);
    try {
      const iam = await this.#client();
      await iam.putRolePolicy(
        {
          RoleName: roleNameOf(roleArn),
          PolicyName: REVOKE_POLICY_NAME,
          PolicyDocument: revokePolicy(before),
        },
        limit.signal,
      );
      logger.info(
        { ...about, role: roleArn, policy: REVOKE_POLICY_NAME, before: before.toISOString() },
        'revoked every session of the role issued before this time',
      );
    } catch (err) {
      logger.warn(
        { ...about, role: roleArn, ...sdkFailure(err) },
        'STS session revocation failed; the session stays valid at AWS until its expiry',
      );
    } finally {
      limit.clear();
    }
  }

  /** The IAM client, made once; a failure to make it is retried on the next revoke. */
  #client(): Promise<IamApi> {
    this.#iam ??= this.#o.iam().catch((err: unknown) => {
      this.#iam = undefined;
      throw err;
    });
    return this.#iam;
  }

  close(): void {
    void this.#iam?.then(
      (iam) => iam.destroy(),
      () => undefined,
    );
  }
}
