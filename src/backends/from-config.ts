/**
 * Builds the credential backends a configuration file names, in the order they are tried:
 * every `oauth_exchange`, then every `entra`. The broker authenticates to an authorization
 * server as itself — `private_key_jwt` with its AC signing key (publish it to the AS by
 * JWKS URI, so rotation needs no AS change), or a client secret from an environment
 * variable. That is the broker's own identity, never a target credential.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../base/clock.js';
import type { BackendsConfig } from '../config/config.js';
import type { CredentialBackend } from '../credentials/backend.js';
import { Secret } from '../credentials/secret.js';
import { ConfigError } from '../base/errors.js';
import type { AcSigner } from '../base/signer.js';
import type { Logger } from '../base/logger.js';
import { EntraBackend } from './entra/entra-backend.js';
import type { ClientAuth } from './oauth/assertions.js';
import { OAuthExchangeBackend } from './oauth-exchange/oauth-exchange-backend.js';

export interface BackendDeps {
  signer: () => AcSigner;
  /** The broker's issuer: the `iss` of the subject assertions it signs. */
  issuer: string;
  clock: Clock;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

function clientAuth(secretEnv: string | undefined, deps: BackendDeps, where: string): ClientAuth {
  if (secretEnv === undefined) return { method: 'private_key_jwt', signer: deps.signer };
  const value = (deps.env ?? process.env)[secretEnv];
  if (value === undefined || value === '') {
    throw new ConfigError(where, `the environment variable ${secretEnv} is not set`);
  }
  return { method: 'client_secret_basic', secret: Secret.fromString(value) };
}

export function backendsFromConfig(config: BackendsConfig, deps: BackendDeps): CredentialBackend[] {
  const subject = { signer: deps.signer, issuer: deps.issuer };
  const oauth = config.oauth_exchange.map(
    (b, i) =>
      new OAuthExchangeBackend({
        ...(b.id !== undefined ? { id: b.id } : {}),
        tokenEndpoint: b.token_endpoint,
        ...(b.revocation_endpoint !== undefined
          ? { revocationEndpoint: b.revocation_endpoint }
          : {}),
        issuer: b.issuer,
        clientId: b.client_id,
        clientAuth: clientAuth(b.client_secret_env, deps, `backends.oauth_exchange[${i}]`),
        subject,
        clock: deps.clock,
        logger: deps.logger,
        ...(b.timeout_seconds !== undefined ? { timeoutMs: b.timeout_seconds * 1000 } : {}),
      }),
  );
  const entra = config.entra.map((b, i) => {
    const where = `backends.entra[${i}]`;
    const read = (file: string): string => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        throw new ConfigError(where, 'a file it names cannot be read');
      }
    };
    return new EntraBackend({
      ...(b.id !== undefined ? { id: b.id } : {}),
      authority: b.authority,
      clientId: b.client_id,
      clientAuth: clientAuth(b.client_secret_env, deps, where),
      subject,
      ...(b.known_authorities !== undefined ? { knownAuthorities: b.known_authorities } : {}),
      ...(b.authority_metadata_file !== undefined
        ? { authorityMetadata: read(b.authority_metadata_file) }
        : {}),
      ...(b.protocol_mode !== undefined ? { protocolMode: b.protocol_mode } : {}),
      ...(b.tls_ca_file !== undefined ? { tlsCa: read(b.tls_ca_file) } : {}),
      ...(b.assertion_audience !== undefined ? { assertionAudience: b.assertion_audience } : {}),
      clock: deps.clock,
      logger: deps.logger,
      ...(b.timeout_seconds !== undefined ? { timeoutMs: b.timeout_seconds * 1000 } : {}),
    });
  });
  return [...oauth, ...entra];
}
