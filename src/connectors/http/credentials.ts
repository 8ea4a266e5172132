/**
 * Which credential the HTTP connector asks for, per target: a bearer token (`oauth`, the
 * default), AWS keys to sign each request with SigV4 for a region and service (`aws`), or
 * an X.509-SVID for mutual TLS (`x509_svid`). Configured as an ordered list of target
 * patterns; the first that matches decides. And the one check every kind shares before
 * anything is sent: the credential is of that kind, for exactly this target (I3).
 */
import { z } from 'zod';
import { awsRegion } from '../../base/fields.js';
import type { Credential, CredentialType } from '../../credentials/types.js';
import { urlPatternField } from '../../governance/target-field.js';
import { targetMatches } from '../../governance/targets.js';

export const HTTP_CREDENTIAL_TYPES = ['oauth', 'aws', 'x509_svid'] as const;
export type HttpCredentialType = (typeof HTTP_CREDENTIAL_TYPES)[number];

/** An AWS signing name, e.g. `s3`, `sts`, `execute-api`. */
const service = z
  .string({ error: 'must be an AWS service signing name such as s3' })
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be an AWS service signing name such as s3' });

/**
 * One rule of `connectors.http.credentials`: the targets it covers and what they take;
 * `aws` also names the region and service SigV4 signs for, which no other type takes.
 */
export const credentialRule = z
  .strictObject(
    {
      targets: z
        .array(urlPatternField, { error: 'must be a list of target patterns' })
        .min(1, { error: 'must list at least one target' }),
      type: z.enum(HTTP_CREDENTIAL_TYPES, {
        error: `must be one of ${HTTP_CREDENTIAL_TYPES.join(', ')}`,
      }),
      region: awsRegion.optional(),
      service: service.optional(),
    },
    { error: 'must be a mapping with targets and type' },
  )
  .superRefine((rule, ctx) => {
    for (const key of ['region', 'service'] as const) {
      if (rule.type === 'aws' && rule[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required for type aws' });
      } else if (rule.type !== 'aws' && rule[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is only for type aws' });
      }
    }
  });

export type CredentialRule = z.output<typeof credentialRule>;

/** The first rule that covers `target` (canonical), if any. */
export function ruleFor(
  rules: readonly CredentialRule[],
  target: string,
): CredentialRule | undefined {
  return rules.find((r) => r.targets.some((p) => targetMatches(p, target)));
}

/** The credential type for `target` (canonical): the first rule that matches, else oauth. */
export function credentialTypeFor(
  rules: readonly CredentialRule[],
  target: string,
): HttpCredentialType {
  return ruleFor(rules, target)?.type ?? 'oauth';
}

/** I3 on the credential itself: of the expected kind, issued for exactly this target. */
export function credentialFits(
  credential: Credential,
  expected: CredentialType,
  target: string,
): boolean {
  if (credential.type !== expected || credential.target !== target) return false;
  if (credential.type === 'oauth') {
    // A DPoP token only with the key it is bound to (and no key on a bearer token).
    const kind = typeof (credential.tokenType as unknown) === 'string' ? credential.tokenType : '';
    return credential.dpop !== undefined
      ? kind.toLowerCase() === 'dpop'
      : kind.toLowerCase() === 'bearer';
  }
  return true;
}
