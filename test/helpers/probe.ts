/**
 * The test's side of a probed child process (test/helpers/probe-preload.ts, loaded with
 * `node --import`): the SSH keys (and their certificates) its dev and vault backends
 * reported, the DPoP keys of its token exchanges, and complete heap snapshots on request. Frames from the child: one byte of kind, a 4-byte big-endian length, the
 * payload; requests to it: one line each.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** `node --import` this in a child to probe it. */
export const PROBE_PRELOAD = join(dirname(fileURLToPath(import.meta.url)), 'probe-preload.js');
/** Set to `1` in a probed child's environment to have its dev backend's SSH keys reported. */
export const PROBE_KEYS_ENV = 'BASTION_TEST_PROBE_KEYS';
/** The child writes frames to fd 3 and reads requests from fd 4. */
export const PROBE_OUT_FD = 3;
export const PROBE_IN_FD = 4;
export const FRAME_KEY = 0x6b;
/** An SSH key's certificate, sent right after the key. */
export const FRAME_CERT = 0x63;
/** The seed of a DPoP key a token exchange bound its token to. */
export const FRAME_DPOP = 0x64;
export const FRAME_SNAPSHOT = 0x73;
/** stdio for a probed child: stdin ignored, stdout and stderr piped, then the probe's two. */
export const PROBE_STDIO: StdioOptions = ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'];

interface Frame {
  kind: number;
  payload: Buffer;
}

export class Probe {
  /** The PEM of every SSH private key the child's dev backend issued, in order. */
  readonly keys: Buffer[] = [];
  /** The certificate of each of `keys`, at the same index. */
  readonly certificates: string[] = [];
  /** The Ed25519 seed of every DPoP key the child's token exchanges used, in order. */
  readonly dpopSeeds: Buffer[] = [];
  readonly #frames: Frame[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #to: Writable;
  #pending = Buffer.alloc(0);
  #exited = false;

  constructor(child: ChildProcess) {
    const from = child.stdio[PROBE_OUT_FD] as Readable | null | undefined;
    const to = child.stdio[PROBE_IN_FD] as Writable | null | undefined;
    if (!from || !to) throw new Error('the child was not started with PROBE_STDIO');
    this.#to = to;
    from.on('data', (chunk: Buffer) => this.#read(chunk));
    child.once('exit', () => {
      this.#exited = true;
      this.#wake();
    });
  }

  /** Resolves with the keys once the child has reported `n` of them. */
  async keysReported(n: number): Promise<Buffer[]> {
    await this.#until(() => this.keys.length >= n);
    return this.keys;
  }

  /** Resolves with the `n`th SSH key and its certificate (0-based) once both are reported. */
  async sshCredential(n: number): Promise<{ key: Buffer; certificate: string }> {
    await this.#until(() => this.certificates.length > n);
    return { key: this.keys[n] ?? Buffer.alloc(0), certificate: this.certificates[n] ?? '' };
  }

  /** Resolves with the `n`th DPoP key seed (0-based) once it is reported. */
  async dpopSeed(n: number): Promise<Buffer> {
    await this.#until(() => this.dpopSeeds.length > n);
    return this.dpopSeeds[n] ?? Buffer.alloc(0);
  }

  /**
   * Has the child stream a heap snapshot (which collects garbage first) into `file`, and
   * returns its bytes once the child has closed the file.
   */
  async snapshot(file: string): Promise<Buffer> {
    this.#to.write(`snapshot ${file}\n`);
    await this.#until(() => this.#take(FRAME_SNAPSHOT, file));
    return readFileSync(file);
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.byteLength >= 5) {
      const length = this.#pending.readUInt32BE(1);
      if (this.#pending.byteLength < 5 + length) break;
      const frame = {
        kind: this.#pending[0] ?? 0,
        payload: Buffer.from(this.#pending.subarray(5, 5 + length)),
      };
      this.#pending = this.#pending.subarray(5 + length);
      if (frame.kind === FRAME_KEY) this.keys.push(frame.payload);
      else if (frame.kind === FRAME_CERT) this.certificates.push(frame.payload.toString());
      else if (frame.kind === FRAME_DPOP) this.dpopSeeds.push(frame.payload);
      else this.#frames.push(frame);
    }
    this.#wake();
  }

  /** Removes and reports a frame of `kind` carrying `text`. */
  #take(kind: number, text: string): boolean {
    const i = this.#frames.findIndex((f) => f.kind === kind && f.payload.toString() === text);
    if (i === -1) return false;
    this.#frames.splice(i, 1);
    return true;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves when `done()` holds, checked at each frame; rejects if the child exits first. */
  #until(done: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) {
          this.#waiters.delete(check);
          resolve();
        } else if (this.#exited) {
          this.#waiters.delete(check);
          reject(new Error('the probed child exited'));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }
}
