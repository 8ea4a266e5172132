/**
 * Issue #17 item 3: an AWS session narrowed to the one request it is issued for, not only
 * to the accord. The HTTP connector binds the request SigV4 will sign (credentials/
 * binding.ts); for S3 this file maps it to its one IAM action and one resource ARN (an
 * object, or a bucket for a listing), and narrows the accord's session policy to that:
 * Allow exactly that action on exactly that ARN, provided the accord's policy allows it —
 * else the intersection is empty and the request is refused before STS is asked.
 *
 * A request this file cannot map with certainty (another service, a sub-resource query
 * such as `?acl`, a key holding IAM wildcard or variable characters) keeps the accord's
 * policy: never broader than before, but not narrowed either.
 */
import type { AwsRequest, CredentialBinding } from '../../credentials/binding.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { allowOnly, type SessionRequest } from './session.js';

export interface OperationScope {
  readonly action: string;
  readonly arn: string;
}

/** Query keys of ListObjects(V2): a bucket GET with only these is a listing. */
const LIST_KEYS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'marker',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
]);
const OBJECT_ACTIONS: Readonly<Record<string, string>> = {
  GET: 's3:GetObject',
  HEAD: 's3:GetObject',
  PUT: 's3:PutObject',
  DELETE: 's3:DeleteObject',
};
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A virtual-hosted endpoint: `<bucket>.s3.amazonaws.com`, `<bucket>.s3.<region>.…`, `s3-`. */
const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3[.-]/;
/** In an ARN these would be IAM wildcards or a policy variable, not the key's characters. */
const IAM_SPECIAL = /[*?$]/;

function decodedKey(path: string): string | undefined {
  try {
    const key = decodeURIComponent(path);
    return IAM_SPECIAL.test(key) ? undefined : key;
  } catch {
    return undefined;
  }
}

/** The S3 action and ARN of a request to `target` (a canonical URL), if certain. */
export function s3Scope(target: string, request: AwsRequest): OperationScope | undefined {
  if (request.service !== 's3' || request.path.includes('?')) return undefined;
  const url = new URL(target);
  const full = (url.pathname === '/' ? '' : url.pathname) + request.path;
  const hosted = VIRTUAL_HOST.exec(url.hostname)?.[1];
  const [bucket, key] =
    hosted !== undefined
      ? [hosted, full.slice(1)]
      : [full.split('/')[1] ?? '', full.split('/').slice(2).join('/')];
  if (!BUCKET_NAME.test(bucket)) return undefined;
  const method = request.method.toUpperCase();
  if (key === '') {
    const listing =
      (method === 'GET' || method === 'HEAD') && request.queryKeys.every((k) => LIST_KEYS.has(k));
    return listing ? { action: 's3:ListBucket', arn: `arn:aws:s3:::${bucket}` } : undefined;
  }
  const action = OBJECT_ACTIONS[method];
  const decoded = decodedKey(key);
  if (action === undefined || decoded === undefined || request.queryKeys.length > 0) {
    return undefined;
  }
  return { action, arn: `arn:aws:s3:::${bucket}/${decoded}` };
}

/** IAM's matching: `*` any run of characters, `?` any one. */
function iamMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's').test(value);
}

/**
 * The session request narrowed to the binding's request: exactly its action on exactly
 * its ARN. Unchanged when there is no binding or it cannot be mapped; refused (an invalid
 * request) when the accord's policy does not allow that action on that ARN.
 */
export function narrowToOperation(
  request: SessionRequest,
  target: string,
  binding: CredentialBinding | undefined,
): SessionRequest {
  const scope = binding?.awsRequest && s3Scope(target, binding.awsRequest);
  if (scope === undefined) return request;
  if (
    !request.actions.some((a) => iamMatches(a, scope.action, true)) ||
    !request.arns.some((r) => iamMatches(r, scope.arn, false))
  ) {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  return allowOnly([scope.action], [scope.arn]);
}
