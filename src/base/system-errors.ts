/**
 * Start-up failures the operating system reports, said plainly: which address or path, and
 * the system's own reason as an errno code and its text (from Node's errno table, never
 * from an error message, which may quote anything). What Vault and Teleport print, where
 * `internal_error` said nothing.
 */
import { getSystemErrorMap } from 'node:util';
import { BastionError } from './errors.js';

const ERRNO_TABLE = getSystemErrorMap();

/** `EADDRINUSE (address already in use)`, or `unknown reason` for anything not an errno. */
export function systemReason(err: unknown): string {
  const { errno, code } = (err ?? {}) as NodeJS.ErrnoException;
  const known = typeof errno === 'number' ? ERRNO_TABLE.get(errno) : undefined;
  if (known !== undefined) return `${known[0]} (${known[1]})`;
  // A code alone (no errno number) is still a fixed token of Node's, when it looks like one.
  return typeof code === 'string' && /^E[A-Z0-9]{2,20}$/.test(code) ? code : 'unknown reason';
}

/** `127.0.0.1:8443`, `[::1]:8443`: the address as a URL would write it. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A listen that failed: the address (`host` and `port`, or a socket path) and why. */
export function listenFailed(host: string, port: number | undefined, err: unknown): BastionError {
  return new BastionError('listen_failed', {
    details: [port === undefined ? host : hostPort(host, port), systemReason(err)],
    cause: err,
  });
}

/** A data directory that cannot be used; `reason` is Bastion's text or `systemReason`. */
export function dataDirUnusable(path: string, reason: string, cause?: unknown): BastionError {
  return new BastionError('data_dir_unusable', { details: [path, reason], cause });
}
