/**
 * `oauth` credentials from Vault, per target, by one of two engines:
 * - an identity token (`GET /v1/identity/oidc/token/<role>`): a JWT Vault signs for the
 *   broker's entity, whose audience is the role's client id — one role per target keeps a
 *   token good for that API only. Vault cannot revoke one token: it lives until its `exp`,
 *   which the role's `ttl` sets (at most the broker's window, or the resolver refuses it).
 *   https://developer.hashicorp.com/vault/api-docs/secret/identity/tokens#generate-a-signed-id-token
 * - a leased dynamic secret read from a role path (`GET /v1/<path>`, e.g. `consul/creds/<role>`),
 *   whose `data.<field>` is a bearer token: the lease is held and revoked at discard.
 *   https://developer.hashicorp.com/vault/docs/concepts/lease
 */
import { z } from 'zod';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import type { OAuthCredential } from '../../credentials/types.js';
import { accessTokenOf, issuedCredential } from '../oauth/credential.js';
import { secondsOf } from './reply.js';

/** Where a target's token comes from. */
export type TokenSource =
  { readonly identityRole: string } | { readonly leasePath: string; readonly tokenField: string };

export function tokenPath(source: TokenSource): string {
  return 'identityRole' in source ? `identity/oidc/token/${source.identityRole}` : source.leasePath;
}

/** A lease id as Vault writes them: the path it was read from, a slash, an id. */
const LEASE_ID = z.string().regex(/^[A-Za-z0-9_.+/-]{1,512}$/);

/** What a reply issued: the credential, or (when it cannot be used) a lease to revoke. */
export type Issued =
  | { readonly credential: OAuthCredential; readonly leaseId?: string | undefined }
  | { readonly unusableLease: string };

/**
 * The credential in a 200 reply (`json`, its `data` in `data`), from `source`, for
 * `target`; started at `started` (epoch ms). A lease that came with an unusable token is
 * returned for revocation; anything else unusable is `backend_error`.
 */
export function tokenCredential(
  json: Record<string, unknown>,
  data: Record<string, unknown>,
  source: TokenSource,
  target: string,
  started: number,
  issuedBy: string,
): Issued {
  if ('identityRole' in source) {
    const ttl = secondsOf(data['ttl']);
    const token = accessTokenOf(data['token']);
    if (ttl === undefined || ttl === 0) throw new CredentialResolutionError(BackendReasons.failed);
    return {
      credential: issuedCredential({
        token,
        target,
        scope: [],
        expiresAt: started + ttl * 1000,
        expiresAfter: started,
        issuedBy,
      }),
    };
  }
  const lease = LEASE_ID.safeParse(json['lease_id']);
  if (!lease.success) throw new CredentialResolutionError(BackendReasons.failed);
  const leaseDuration = secondsOf(json['lease_duration']);
  try {
    if (leaseDuration === undefined || leaseDuration === 0) throw new RangeError();
    const credential = issuedCredential({
      token: accessTokenOf(data[source.tokenField]),
      target,
      scope: [],
      expiresAt: started + leaseDuration * 1000,
      expiresAfter: started,
      issuedBy,
    });
    return { credential: { ...credential, id: lease.data }, leaseId: lease.data };
  } catch {
    return { unusableLease: lease.data };
  }
}
