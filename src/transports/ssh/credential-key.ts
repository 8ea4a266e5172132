/**
 * The SSH credential checked and turned into ssh2's key before any connection is made, so
 * that an expired, disposed or malformed credential fails as `ssh_credential_unusable`
 * without reaching the target.
 */
import { SecretDisposedError } from '../../credentials/secret.js';
import type { SshCertCredential } from '../../credentials/types.js';
import { certificateAuthKey, SshKeyError } from '../../ssh/ssh-key.js';
import type { Ssh2ParsedKey } from '../../ssh/ssh2-cert-patch.js';
import { SshTransportError } from './errors.js';

/** The credential as an ssh2 key, or the reason it cannot be used (checked before connecting). */
export function credentialKey(credential: SshCertCredential): Ssh2ParsedKey {
  if (credential.type !== 'ssh_cert' || credential.privateKey.disposed) {
    throw new SshTransportError('credentialUnusable');
  }
  // The broker's usage window; the certificate's own validity is sshd's to enforce.
  if (!(credential.expiresAt.getTime() > Date.now())) {
    throw new SshTransportError('credentialUnusable');
  }
  try {
    return certificateAuthKey(credential);
  } catch (err) {
    if (err instanceof SshKeyError || err instanceof SecretDisposedError) {
      throw new SshTransportError('credentialUnusable');
    }
    throw err;
  }
}
