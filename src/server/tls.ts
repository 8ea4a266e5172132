/**
 * HTTPS for the broker: the certificate chain and private key of `tls:`, read from their
 * PEM files (the key file refused if group or others may read it, as every key file is),
 * checked to fit each other before the server is built, and the key's bytes zero-filled once
 * the server holds them. SIGHUP re-reads both and puts them in force for new connections
 * (`setSecureContext`): the listener, and connections already open, stay as they are.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../base/errors.js';
import { systemReason } from '../base/system-errors.js';

export interface TlsFiles {
  readonly cert_file: string;
  readonly key_file: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Zero-fills the key's bytes: call once the server has built its context from them. */
  dispose(): void;
}

/** A certificate chain is a few KiB; anything far larger is not one. */
const MAX_PEM_BYTES = 1024 * 1024;

function readPem(file: string, isKey: boolean): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new ConfigError(file, `cannot be read: ${systemReason(err)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(file, 'is not a regular file');
    if (isKey && (stat.mode & 0o077) !== 0) {
      throw new ConfigError(file, 'key file must not be readable by group or others (chmod 600)');
    }
    if (stat.size > MAX_PEM_BYTES) throw new ConfigError(file, 'is too large for a PEM file');
    // Buffer.alloc, not the shared pool: the key's bytes are ours alone to zero-fill.
    const pem = Buffer.alloc(stat.size);
    let at = 0;
    while (at < pem.length) {
      const n = readSync(fd, pem, at, pem.length - at, null);
      if (n === 0) break;
      at += n;
    }
    return pem;
  } finally {
    closeSync(fd);
  }
}

/** Reads and checks the pair; throws a ConfigError naming the file at fault. */
export function readTls(files: TlsFiles): TlsMaterial {
  const cert = readPem(files.cert_file, false);
  const key = readPem(files.key_file, true);
  try {
    // OpenSSL's own check that the key is PEM and is the certificate's.
    createSecureContext({ cert, key });
  } catch {
    key.fill(0);
    throw new ConfigError(files.key_file, 'is not a PEM private key matching tls.cert_file');
  }
  return { cert, key, dispose: () => key.fill(0) };
}

/** SIGHUP: the files as they are now, for every new connection; throws, changing nothing. */
export function reloadTls(server: HttpsServer, files: TlsFiles): void {
  const material = readTls(files);
  try {
    server.setSecureContext({ cert: material.cert, key: material.key });
  } finally {
    material.dispose();
  }
}
