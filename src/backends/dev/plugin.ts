/**
 * `kind: dev`: the development backend. It mints SSH certificates from a CA and OAuth tokens
 * from a key it generates at every start, and publishes both public keys in the data
 * directory (`dev-ca.pub` for sshd's TrustedUserCAKeys, `dev-jwks.json` for a resource
 * server). For development and tests only: it is built only when the configuration lists
 * it, with a warning at start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { backendId } from '../../base/fields.js';
import { defineBackendPlugin } from '../plugin.js';
import { DevBackend } from './dev-backend.js';

const settings = z.strictObject({ id: backendId.optional() }, { error: 'must be a mapping' });

/** Test and demo aid: a string put inside every dev credential, for leak scans. */
export const DEV_MARKER_ENV = 'BASTION_DEV_CREDENTIAL_MARKER';

export const devPlugin = defineBackendPlugin({
  kind: 'dev',
  summary: 'Development only: SSH certificates and OAuth tokens from keys made at start',
  startupWarning:
    'the dev backend is configured: it issues credentials from keys it makes at start, for development and tests only; do not use it in production',
  settings: () => settings,
  create: async (s: z.output<typeof settings>, deps) => {
    const marker = deps.env[DEV_MARKER_ENV];
    const dev = await DevBackend.create({
      clock: deps.clock,
      ...(s.id !== undefined ? { id: s.id } : {}),
      ...(marker ? { marker } : {}),
    });
    // Public: what sshd's TrustedUserCAKeys needs to trust it (a new CA each start), and
    // what a resource server needs to accept its tokens.
    writeFileSync(join(deps.dataDir, 'dev-ca.pub'), dev.caPublicKey() + '\n', { mode: 0o644 });
    writeFileSync(join(deps.dataDir, 'dev-jwks.json'), JSON.stringify(dev.jwks()) + '\n', {
      mode: 0o644,
    });
    return dev;
  },
});
