/**
 * `kind: entra`: Microsoft Entra ID, the on-behalf-of flow through MSAL, for an access
 * token to the target's API (credential `oauth`).
 */
import { z } from 'zod';
import { endpointUrl, filePath, text, type ConfigContext } from '../../base/fields.js';
import { defineBackendPlugin } from '../plugin.js';
import { clientAuth, OAUTH_CLIENT_SETTINGS, readSettingsFile } from '../oauth/client-auth.js';
import { EntraBackend } from './entra-backend.js';

const settings = (ctx: ConfigContext) =>
  z.strictObject(
    {
      ...OAUTH_CLIENT_SETTINGS,
      authority: endpointUrl,
      known_authorities: z.array(text, { error: 'must be a list of host names' }).optional(),
      authority_metadata_file: filePath(ctx).optional(),
      protocol_mode: z.enum(['AAD', 'OIDC'], { error: 'must be AAD or OIDC' }).optional(),
      tls_ca_file: filePath(ctx).optional(),
      assertion_audience: text.optional(),
    },
    { error: 'must be a mapping' },
  );

export const entraPlugin = defineBackendPlugin({
  kind: 'entra',
  summary: 'Entra ID access tokens by the on-behalf-of flow (MSAL)',
  settings,
  create: (s: z.output<ReturnType<typeof settings>>, deps) =>
    new EntraBackend({
      ...(s.id !== undefined ? { id: s.id } : {}),
      authority: s.authority,
      clientId: s.client_id,
      clientAuth: clientAuth(s.client_secret_env, deps),
      subject: { signer: deps.signer, issuer: deps.issuer },
      ...(s.known_authorities !== undefined ? { knownAuthorities: s.known_authorities } : {}),
      ...(s.authority_metadata_file !== undefined
        ? { authorityMetadata: readSettingsFile(s.authority_metadata_file, deps) }
        : {}),
      ...(s.protocol_mode !== undefined ? { protocolMode: s.protocol_mode } : {}),
      ...(s.tls_ca_file !== undefined ? { tlsCa: readSettingsFile(s.tls_ca_file, deps) } : {}),
      ...(s.assertion_audience !== undefined ? { assertionAudience: s.assertion_audience } : {}),
      clock: deps.clock,
      logger: deps.logger,
      ...(s.timeout !== undefined ? { timeoutMs: s.timeout * 1000 } : {}),
    }),
});
