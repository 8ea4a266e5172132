/**
 * Which host key algorithms to offer, in which order, so that a server with several host
 * keys presents the one known_hosts lists for it.
 */
import { SSH2_HOST_KEY_ALGORITHMS } from '../../ssh/ssh2-cert-patch.js';

/** Host key algorithms for the key types known_hosts may list. */
const HOST_KEY_ALGORITHMS_BY_TYPE: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * ssh2's host key algorithms with those known_hosts lists for the host first, as OpenSSH
 * orders them: a server with several host keys then presents the one we know. The others
 * stay offered so that a host that changed key type is seen (and refused) as a mismatch
 * rather than as a failed negotiation.
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const preferred = new Set(knownTypes.flatMap((t) => HOST_KEY_ALGORITHMS_BY_TYPE[t] ?? []));
  return [
    ...SSH2_HOST_KEY_ALGORITHMS.filter((a) => preferred.has(a)),
    ...SSH2_HOST_KEY_ALGORITHMS.filter((a) => !preferred.has(a)),
  ];
}
