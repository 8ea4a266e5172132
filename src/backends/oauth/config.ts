/**
 * The configuration checks both OAuth backends apply at construction, so a bad endpoint,
 * client or timeout fails at start with a ConfigError naming the field, not at first use.
 */
import { isLoopback } from '../../base/loopback.js';
import { ConfigError } from '../../base/errors.js';
import { Secret } from '../../credentials/secret.js';
import type { ClientAuth } from './assertions.js';

/** An endpoint URL, checked at start: https, or http only to a loopback address. */
export function checkEndpoint(where: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(where, 'must be an absolute https URL');
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    throw new ConfigError(where, 'must not carry credentials or a fragment');
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) {
    // As written: it is also the audience of client assertions, compared as a string.
    return raw;
  }
  throw new ConfigError(where, 'must be https (plain http only to a loopback address)');
}

export function checkClientAuth(where: string, auth: ClientAuth): void {
  if (auth.method === 'private_key_jwt' && typeof auth.signer === 'function') return;
  if (
    auth.method === 'client_secret_basic' &&
    auth.secret instanceof Secret &&
    !auth.secret.disposed
  )
    return;
  throw new ConfigError(where, 'must be private_key_jwt with a signer or client_secret_basic');
}

export function checkClientId(where: string, clientId: string): void {
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new ConfigError(where, 'must not be empty');
  }
}

/** A per-request timeout in ms, when one is configured: a positive number. */
export function checkTimeoutMs(where: string, timeoutMs: number | undefined): number | undefined {
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 1)) {
    throw new ConfigError(where, 'must be a positive number');
  }
  return timeoutMs;
}
