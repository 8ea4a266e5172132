/**
 * `kind: oauth_exchange`: OAuth 2.0 Token Exchange (RFC 8693) at an authorization server,
 * for an access token scoped to the target (credential `oauth`); revoked by RFC 7009.
 */
import { z } from 'zod';
import { endpointUrl, text } from '../../base/fields.js';
import { defineBackendPlugin } from '../plugin.js';
import { clientAuth, OAUTH_CLIENT_SETTINGS } from '../oauth/client-auth.js';
import { OAuthExchangeBackend } from './oauth-exchange-backend.js';

const settings = z.strictObject(
  {
    ...OAUTH_CLIENT_SETTINGS,
    token_endpoint: endpointUrl,
    revocation_endpoint: endpointUrl.optional(),
    issuer: text,
  },
  { error: 'must be a mapping' },
);

export const oauthExchangePlugin = defineBackendPlugin({
  kind: 'oauth_exchange',
  summary: 'OAuth access tokens by RFC 8693 token exchange at an authorization server',
  settings: () => settings,
  create: (s: z.output<typeof settings>, deps) =>
    new OAuthExchangeBackend({
      ...(s.id !== undefined ? { id: s.id } : {}),
      tokenEndpoint: s.token_endpoint,
      ...(s.revocation_endpoint !== undefined ? { revocationEndpoint: s.revocation_endpoint } : {}),
      issuer: s.issuer,
      clientId: s.client_id,
      clientAuth: clientAuth(s.client_secret_env, deps),
      subject: { signer: deps.signer, issuer: deps.issuer },
      clock: deps.clock,
      logger: deps.logger,
      ...(s.timeout !== undefined ? { timeoutMs: s.timeout * 1000 } : {}),
    }),
});
