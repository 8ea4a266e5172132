/**
 * The SSH transport's one error class and its codes, with fixed, log-safe messages from
 * the catalog: ssh2's error text can carry host data (banners, disconnect descriptions),
 * so it is never quoted nor attached as a cause.
 */
import { BastionError } from '../../base/errors.js';

export const SshErrorCodes = {
  connectFailed: 'ssh_connect_failed',
  hostKeyUnknown: 'ssh_host_key_unknown',
  hostKeyMismatch: 'ssh_host_key_mismatch',
  hostKeyRevoked: 'ssh_host_key_revoked',
  authFailed: 'ssh_auth_failed',
  execFailed: 'ssh_exec_failed',
  /** Refused before connecting: expired, disposed, or a certificate/key that does not parse. */
  credentialUnusable: 'ssh_credential_unusable',
  /** The target's name resolved to a link-local, metadata or unspecified address. */
  destinationRefused: 'ssh_destination_refused',
} as const;

export type SshErrorKind = keyof typeof SshErrorCodes;

/**
 * Every SSH transport failure; status 502: the target (or its credential) failed us, or
 * 403: its name resolved to an address never connected to.
 */
export class SshTransportError extends BastionError {
  constructor(kind: SshErrorKind) {
    super(SshErrorCodes[kind]);
  }
}
