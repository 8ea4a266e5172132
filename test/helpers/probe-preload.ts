/**
 * Loaded into a child process by the zero-credential proof (`node --import`, with the
 * pipes of PROBE_STDIO), and by nothing else. It changes nothing the broker does; it lets
 * the proof know what to look for, and look:
 * - UNSAFE BY DESIGN, for the proof only (with PROBE_KEYS_ENV=1): every SSH private key the
 *   dev and vault backends issue is written to fd 3 as bytes, straight from its Secret's buffer — no
 *   copy, no JS string, so the probe adds nothing to what the scans find — for the proof
 *   to search for the PEM and its seed in every encoding;
 * - on `snapshot <file>` from fd 4 it streams v8.getHeapSnapshot() into the file and
 *   reports the file once the stream has finished and closed: a complete snapshot, where
 *   `--heapsnapshot-signal` gives no sign of when its file is done.
 */
import { createWriteStream, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { getHeapSnapshot } from 'node:v8';
import { repoRoot } from './paths.js';
import {
  FRAME_CERT,
  FRAME_DPOP,
  FRAME_KEY,
  FRAME_SNAPSHOT,
  PROBE_IN_FD,
  PROBE_KEYS_ENV,
  PROBE_OUT_FD,
} from './probe.js';

/** Writes all of `bytes` to the test, synchronously: before the caller can wipe them. */
function writeAll(bytes: Buffer): void {
  let at = 0;
  while (at < bytes.byteLength) {
    try {
      at += writeSync(PROBE_OUT_FD, bytes, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

function send(kind: number, payload: Buffer): void {
  const header = Buffer.alloc(5);
  header[0] = kind;
  header.writeUInt32BE(payload.byteLength, 1);
  writeAll(header);
  writeAll(payload);
}

interface SecretLike {
  use(fn: (bytes: Buffer) => void): void;
}
interface ResolveFn {
  (
    this: unknown,
    ...args: unknown[]
  ): Promise<{
    type?: unknown;
    privateKey?: SecretLike;
    certificate?: string;
    dpop?: { seed: SecretLike };
  }>;
}

if (process.env[PROBE_KEYS_ENV] === '1') {
  // The built package, as `bastion serve` (dist/cli/main.js) loads it: the same class.
  const dist = (await import(pathToFileURL(join(repoRoot, 'dist/index.js')).href)) as Record<
    'DevBackend' | 'VaultBackend' | 'OAuthExchangeBackend',
    { prototype: { resolve: ResolveFn } }
  >;
  for (const backend of [dist.DevBackend, dist.VaultBackend, dist.OAuthExchangeBackend]) {
    const resolve = backend.prototype.resolve;
    backend.prototype.resolve = async function (this: unknown, ...args: unknown[]) {
      const credential = await resolve.apply(this, args);
      if (credential.type === 'ssh_cert') {
        credential.privateKey?.use((pem) => send(FRAME_KEY, pem));
        send(FRAME_CERT, Buffer.from(credential.certificate ?? ''));
      }
      credential.dpop?.seed.use((seed) => send(FRAME_DPOP, seed));
      return credential;
    };
  }
}

const requests = new Socket({ fd: PROBE_IN_FD, readable: true, writable: false });
requests.unref();
let pending = '';
requests.on('data', (chunk: Buffer) => {
  pending += chunk.toString();
  for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
    const file = /^snapshot (.+)$/.exec(pending.slice(0, nl))?.[1];
    pending = pending.slice(nl + 1);
    if (file !== undefined) {
      void pipeline(getHeapSnapshot(), createWriteStream(file, { mode: 0o600 })).then(() =>
        send(FRAME_SNAPSHOT, Buffer.from(file)),
      );
    }
  }
});
