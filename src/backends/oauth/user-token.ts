/**
 * The other subject both OAuth backends accept instead of a broker-signed assertion: a
 * user token the deployment obtained (e.g. the token an MCP client presented), fetched
 * per call. The backend takes ownership of the Secret and zero-fills it after the call.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { Secret } from '../../credentials/secret.js';
import type { AcContext } from '../../credentials/types.js';

/**
 * The deployment's user token for this AC: its own refusal passes through, any other
 * failure is `backend_error`, and anything but a live Secret is `backend_misconfigured`.
 */
export async function takeUserToken(
  source: (ac: AcContext) => Promise<Secret>,
  ac: AcContext,
): Promise<Secret> {
  let token: unknown;
  try {
    token = await source(ac);
  } catch (err) {
    throw err instanceof CredentialResolutionError
      ? err
      : new CredentialResolutionError(BackendReasons.failed);
  }
  if (!(token instanceof Secret) || token.disposed) {
    throw new CredentialResolutionError(BackendReasons.misconfigured);
  }
  return token;
}
