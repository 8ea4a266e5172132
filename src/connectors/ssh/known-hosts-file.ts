/**
 * The SSH connector's trusted host keys, from an OpenSSH known_hosts file: re-read when the
 * file changes (a cheap stat per use), so adding a host needs no restart. No file, or an
 * unreadable one, trusts no host at all: never trust-on-first-use.
 */
import { readFileSync, statSync } from 'node:fs';
import { KnownHosts } from '../../transports/known-hosts.js';

export function knownHostsLoader(file: string | undefined): () => KnownHosts {
  let cached: { mtimeMs: number; size: number; hosts: KnownHosts } | undefined;
  const none = KnownHosts.parse('');
  return () => {
    if (file === undefined) return none;
    try {
      const st = statSync(file);
      if (cached === undefined || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size) {
        cached = {
          mtimeMs: st.mtimeMs,
          size: st.size,
          hosts: KnownHosts.parse(readFileSync(file, 'utf8')),
        };
      }
      return cached.hosts;
    } catch {
      return none;
    }
  };
}
