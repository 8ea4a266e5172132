/**
 * RFC 7009 token revocation at the authorization server's revocation endpoint: best
 * effort, so it never throws; a refusal or a failure is logged with the server's error
 * code or the backend reason, never the token or the reply.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import type { Secret } from '../../credentials/secret.js';
import type { Logger } from '../../base/logger.js';
import { errorCodeOf } from '../oauth/reply.js';
import type { FormClient } from './form-client.js';

export interface Revocation {
  readonly backend: string;
  readonly endpoint: string;
  readonly client: FormClient;
  readonly log: Logger;
}

/** Asks the server to revoke an access token. Never throws. */
export async function revokeToken(revocation: Revocation, token: Secret): Promise<void> {
  const { backend, log } = revocation;
  try {
    if (token.disposed) {
      log.warn({ backend }, 'token already zero-filled; not revoked');
      return;
    }
    const reply = await revocation.client.post(revocation.endpoint, [
      ['token', token],
      ['token_type_hint', 'access_token'],
    ]);
    if (reply.status !== 200) {
      log.warn(
        { backend, status: reply.status, error: errorCodeOf(reply.json) },
        'token revocation refused by the authorization server',
      );
    }
  } catch (err) {
    log.warn(
      {
        backend,
        reason: err instanceof CredentialResolutionError ? err.reason : BackendReasons.unavailable,
      },
      'token revocation failed',
    );
  }
}
