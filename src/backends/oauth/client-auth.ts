/**
 * How the broker authenticates to an authorization server as itself, from a plugin's
 * settings: `private_key_jwt` with its AC signing key (publish it to the AS by JWKS URI, so
 * rotation needs no AS change), or a client secret read once from an environment variable
 * into a Secret. That is the broker's own identity, never a target credential.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../base/errors.js';
import { backendId, duration, envName, text } from '../../base/fields.js';
import { Secret } from '../../credentials/secret.js';
import type { BackendDeps } from '../plugin.js';
import type { ClientAuth } from './assertions.js';

/** The settings every OAuth backend kind takes for the broker's own client identity. */
export const OAUTH_CLIENT_SETTINGS = {
  id: backendId.optional(),
  client_id: text,
  /** The client secret, by environment variable: then client_secret_basic, else private_key_jwt. */
  client_secret_env: envName.optional(),
  timeout: duration(120).optional(),
};

export function clientAuth(secretEnv: string | undefined, deps: BackendDeps): ClientAuth {
  if (secretEnv === undefined) return { method: 'private_key_jwt', signer: deps.signer };
  const value = deps.env[secretEnv];
  if (value === undefined || value === '') {
    throw new ConfigError(deps.where, `the environment variable ${secretEnv} is not set`);
  }
  return { method: 'client_secret_basic', secret: Secret.fromString(value) };
}

/** A file a backend's settings name (public material: metadata, a CA certificate). */
export function readSettingsFile(file: string, deps: BackendDeps): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(deps.where, 'a file it names cannot be read');
  }
}
