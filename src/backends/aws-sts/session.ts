/**
 * What one AssumeRole asks for, from the AC: a session policy narrowed to the AC — the
 * actions its capabilities map to, on the resource ARNs its target maps to (so the session
 * can do at most what the role allows AND this policy names) — a source identity naming the
 * principal, a session name and session tags carrying the AC's id, accord and principal
 * (CloudTrail shows them on every call the session makes). Every value is checked against
 * STS's own limits here, so that a request STS would refuse is never sent.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import type { AcContext } from '../../credentials/types.js';
import { targetMatches } from '../../governance/targets.js';

/** How the session policy is made: capability → IAM actions; target → resource ARNs. */
export interface SessionPolicyRules {
  /** e.g. `{ read: ['s3:GetObject', 's3:ListBucket'], write: ['s3:PutObject'] }`. */
  readonly actions: Readonly<Partial<Record<string, readonly string[]>>>;
  /** The first rule whose canonical target patterns match the AC's target gives the ARNs. */
  readonly resources: readonly {
    readonly targets: readonly string[];
    readonly arns: readonly string[];
  }[];
}

/** STS takes at most 2048 characters of plain-text session policy. */
export const MAX_POLICY_CHARS = 2048;
/** SourceIdentity and RoleSessionName: 2–64 of these characters. */
export const STS_NAME = /^[\w+=,.@-]{2,64}$/;
/** A session tag's value: at most 256 of these characters. */
const TAG_VALUE_CHAR = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;

export interface SessionRequest {
  /** The session policy, JSON. */
  readonly policy: string;
  readonly actions: readonly string[];
  readonly arns: readonly string[];
}

const refuse = (reason: (typeof BackendReasons)[keyof typeof BackendReasons]): never => {
  throw new CredentialResolutionError(reason);
};

/**
 * The session policy for this AC: Allow the actions of its capabilities on the ARNs of its
 * target. A target no rule covers is `unsupported_target`; capabilities that map to no
 * action, or a policy over STS's size limit, an invalid request.
 */
export function sessionPolicy(
  rules: SessionPolicyRules,
  capabilities: readonly string[],
  target: string,
): SessionRequest {
  const rule = rules.resources.find((r) => r.targets.some((p) => targetMatches(p, target)));
  if (rule === undefined) return refuse(BackendReasons.unsupportedTarget);
  const actions = [...new Set(capabilities.flatMap((c) => rules.actions[c] ?? []))].sort();
  if (actions.length === 0) return refuse(BackendReasons.invalidRequest);
  return allowOnly(actions, [...rule.arns]);
}

/** Allow `actions` on `arns`, no more; an invalid request when over STS's size limit. */
export function allowOnly(actions: readonly string[], arns: readonly string[]): SessionRequest {
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: arns }],
  });
  if (policy.length > MAX_POLICY_CHARS) return refuse(BackendReasons.invalidRequest);
  return { policy, actions, arns };
}

/**
 * The SourceIdentity for a principal: its mapped name, else its DID with `:` as `.` (STS
 * refuses colons); an invalid request when neither fits STS's rules.
 */
export function sourceIdentity(mapping: Readonly<Record<string, string>>, did: string): string {
  const identity = mapping[did] ?? did.replaceAll(':', '.');
  return STS_NAME.test(identity) ? identity : refuse(BackendReasons.invalidRequest);
}

/** `bastion-<ac id>`, in STS's characters and length. */
export function sessionName(ac: AcContext): string {
  return `bastion-${ac.ac_id}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

const tagValue = (value: string): string => value.replace(TAG_VALUE_CHAR, '_').slice(0, 256);

/** Session tags: the AC's id, accord and principal, and the agent when delegated. */
export function sessionTags(ac: AcContext): { Key: string; Value: string }[] {
  return [
    { Key: 'bastion-ac', Value: tagValue(ac.ac_id) },
    { Key: 'bastion-accord', Value: tagValue(ac.accord_template) },
    { Key: 'bastion-principal', Value: tagValue(ac.principal_did) },
    ...(ac.act !== undefined ? [{ Key: 'bastion-agent', Value: tagValue(ac.act.sub) }] : []),
  ];
}
