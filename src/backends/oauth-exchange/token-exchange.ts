/**
 * RFC 8693 token exchange, the wire side: the request form (a subject token for an access
 * token for exactly one resource, `resource` = `audience` = the target, RFC 8707) and the
 * checks and limits on the reply's fields besides the token itself.
 */
import { TOKEN_TYPE_ACCESS_TOKEN } from '../oauth/assertions.js';
import { isBearer } from '../oauth/credential.js';
import { isScopeToken, MAX_SCOPES } from '../oauth/scopes.js';
import type { FormFields, FormValue } from './form.js';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The longest `scope` string a reply may carry. */
const MAX_SCOPE_CHARS = 8192;

/** The subject token presented, and its RFC 8693 token type. */
export interface SubjectToken {
  readonly token: FormValue;
  readonly type: string;
}

/** The token exchange request for an access token to `target` with `scopes`. */
export function exchangeRequest(
  subject: SubjectToken,
  target: string,
  scopes: readonly string[],
): FormFields {
  return [
    ['grant_type', GRANT_TYPE_TOKEN_EXCHANGE],
    ['subject_token', subject.token],
    ['subject_token_type', subject.type],
    ['requested_token_type', TOKEN_TYPE_ACCESS_TOKEN],
    ['resource', target],
    ['audience', target],
    ['scope', scopes.join(' ')],
  ];
}

/** The checked fields of a token exchange reply; `dpop` when the token is DPoP-bound. */
export interface ReplyFields {
  readonly expiresIn: number;
  readonly scope: string[];
  readonly dpop: boolean;
}

/**
 * The checked fields of a token exchange reply, besides the token; undefined if invalid.
 * A `DPoP` token type is valid only when the request carried a proof (`proofSent`).
 */
export function replyFields(
  json: Record<string, unknown>,
  requested: readonly string[],
  proofSent = false,
): ReplyFields | undefined {
  if (json['issued_token_type'] !== TOKEN_TYPE_ACCESS_TOKEN) return undefined;
  const tokenType = json['token_type'];
  const dpop = proofSent && typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop';
  if (!dpop && !isBearer(tokenType)) return undefined;
  const expiresIn = json['expires_in'];
  if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    return undefined;
  }
  const scope = json['scope'];
  if (scope === undefined) return { expiresIn, scope: [...requested], dpop };
  if (typeof scope !== 'string' || scope.length > MAX_SCOPE_CHARS) return undefined;
  const list = scope.split(' ').filter((s) => s !== '');
  if (list.length > MAX_SCOPES || !list.every(isScopeToken)) return undefined;
  return { expiresIn, scope: list, dpop };
}
