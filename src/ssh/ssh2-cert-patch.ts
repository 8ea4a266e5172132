/**
 * The one door to ssh2, with OpenSSH user-certificate client auth patched in.
 *
 * Why: ssh2 has no client support for OpenSSH user certificates (mscdex/ssh2#551, open).
 * A key object whose type is `ssh-ed25519-cert-v01@openssh.com` and whose public blob is
 * the certificate gets a PK_OK from sshd, but `Protocol.prototype.authPK` then writes the
 * certificate algorithm into the *signature* blob too, where sshd requires the base
 * algorithm (`ssh-ed25519`), so the signed request fails. The patch below rebuilds that one
 * packet: certificate algorithm in the request, base algorithm in the signature. Anything
 * other than an Ed25519 certificate goes to the original method untouched.
 *
 * Pinned: it replaces a method of ssh2's internals (`lib/protocol/Protocol.js`, and uses
 * `lib/protocol/utils.js` and `constants.js`), so this module refuses to load unless the
 * installed ssh2 is exactly SSH2_PINNED_VERSION, the version pinned in package.json and
 * tested. To move the pin: read the new `authPK`, update this patch, and run
 * test/transports/ssh.test.ts, whose "ssh2 certificate patch" test logs in to a real sshd
 * with and without the patch: it fails if the patch stops working *or* stops being needed
 * (every other test there logs in through the patch too).
 *
 * One more reach into internals, for the same reason: `signalChannel`. ssh2's
 * `Channel.signal` silently drops the request once the client has sent EOF (ended stdin),
 * though RFC 4254 allows it until the channel closes; the transport always ends stdin, and
 * needs the signal to kill a timed-out command (tested by "stops a hanging command at the
 * timeout…"). OpenSSH refuses session signals after a *root* login (it turns privilege
 * separation off for root), so a timed-out command of root lives on until it exits or
 * writes to the closed channel; log in as an unprivileged user where that matters.
 *
 * Every other module reaches ssh2 through the typed `ssh2` export here, so the version
 * check and the patch always come first.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

export const SSH2_PINNED_VERSION = '1.17.0';

const CERT_ALGO = 'ssh-ed25519-cert-v01@openssh.com';
const BASE_ALGO = 'ssh-ed25519';
const PATCHED = Symbol.for('bastion.ssh2.certAuthPK');
const ORIGINAL = Symbol.for('bastion.ssh2.certAuthPK.original');

// ── the slice of ssh2 Bastion uses, typed ───────────────────────

/** A key as ssh2's `utils.parseKey` returns it (or an object derived from one). */
export interface Ssh2ParsedKey {
  readonly type: string;
  getPublicSSH(): Buffer;
  isPrivateKey(): boolean;
  sign(data: Buffer, algo?: string): Buffer | Error;
}

/** An ssh2 error: `level` says which stage failed (`client-socket`, `client-authentication`…). */
export interface Ssh2Error extends Error {
  level?: string;
}

export interface Ssh2Stream {
  readonly stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown };
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(
    event: 'exit',
    listener: (code: number | null, signal?: string, dump?: boolean, desc?: string) => void,
  ): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  end(data?: Buffer): this;
  close(): this;
}

export interface Ssh2ConnectConfig {
  /** The broker passes `sock`, a socket to the pinned address, so ssh2 never resolves. */
  sock?: Socket;
  host?: string;
  port: number;
  username: string;
  authHandler: { type: 'publickey'; username: string; key: Ssh2ParsedKey }[];
  hostVerifier: (key: Buffer) => boolean;
  readyTimeout: number;
  tryKeyboard: false;
  algorithms?: { serverHostKey?: string[] };
}

export interface Ssh2Client {
  on(event: 'ready' | 'close' | 'end', listener: () => void): this;
  on(event: 'error', listener: (err: Ssh2Error) => void): this;
  connect(config: Ssh2ConnectConfig): this;
  exec(command: string, callback: (err: Error | undefined, stream: Ssh2Stream) => void): boolean;
  end(): this;
  destroy(): this;
}

export interface Ssh2Module {
  readonly Client: new () => Ssh2Client;
  readonly utils: { parseKey(data: string | Buffer): Ssh2ParsedKey | Error };
}

// ── internals the patch touches ─────────────────────────────────

type SignCallback = (data: Buffer, done: (signature: Buffer) => void) => void;
type AuthPK = (
  this: ProtocolInternals,
  username: string,
  pubKey: unknown,
  keyAlgo?: string | SignCallback,
  cbSign?: SignCallback,
) => void;

interface ProtocolInternals {
  _kex: { sessionID: Buffer };
  _authsQueue: string[];
  _packetRW: {
    write: { allocStart: number; alloc(n: number): Buffer; finalize(packet: Buffer): Buffer };
  };
  _debug?: (message: string) => void;
}

type MarkedAuthPK = AuthPK & { [PATCHED]?: true; [ORIGINAL]?: AuthPK };

const require = createRequire(import.meta.url);

const installed = (require('ssh2/package.json') as { version?: unknown }).version;
if (installed !== SSH2_PINNED_VERSION) {
  throw new Error(
    `ssh2 ${String(installed)} is installed, but Bastion's OpenSSH-certificate patch is ` +
      `pinned to ${SSH2_PINNED_VERSION} (see src/ssh/ssh2-cert-patch.ts)`,
  );
}

export const ssh2 = require('ssh2') as Ssh2Module;
const Protocol = require('ssh2/lib/protocol/Protocol.js') as {
  prototype: { authPK: MarkedAuthPK };
};
const { sendPacket } = require('ssh2/lib/protocol/utils.js') as {
  sendPacket: (protocol: ProtocolInternals, packet: Buffer) => void;
};
const { MESSAGE, DEFAULT_SERVER_HOST_KEY } = require('ssh2/lib/protocol/constants.js') as {
  MESSAGE: { USERAUTH_REQUEST: number };
  DEFAULT_SERVER_HOST_KEY: readonly string[];
};

/** Host key algorithms ssh2 offers by default; host *certificates* are not among them. */
export const SSH2_HOST_KEY_ALGORITHMS: readonly string[] = [...DEFAULT_SERVER_HOST_KEY];

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.byteLength);
  return Buffer.concat([length, bytes]);
}

function install(): void {
  const current = Protocol.prototype.authPK;
  if (current[PATCHED] === true) return; // idempotent, also across module instances
  const original = current;

  const patched: MarkedAuthPK = function (this, username, pubKey, keyAlgo, cbSign) {
    if (typeof keyAlgo === 'function') {
      cbSign = keyAlgo;
      keyAlgo = undefined;
    }
    const key = ssh2.utils.parseKey(pubKey as string | Buffer);
    // The unsigned PK_OK query is already right in the original; only the signed request
    // of an Ed25519 certificate needs the base algorithm in its signature.
    if (cbSign === undefined || key instanceof Error || key.type !== CERT_ALGO) {
      original.call(this, username, pubKey, keyAlgo, cbSign);
      return;
    }
    const algo = keyAlgo ?? CERT_ALGO;
    const body = Buffer.concat([
      Buffer.from([MESSAGE.USERAUTH_REQUEST]),
      sshString(username),
      sshString('ssh-connection'),
      sshString('publickey'),
      Buffer.from([1]),
      sshString(algo),
      sshString(key.getPublicSSH()),
    ]);
    cbSign(Buffer.concat([sshString(this._kex.sessionID), body]), (signature) => {
      if (signature.byteLength !== 64) throw new Error('Unexpected Ed25519 signature length');
      const payload = Buffer.concat([
        body,
        sshString(Buffer.concat([sshString(BASE_ALGO), sshString(signature)])),
      ]);
      const write = this._packetRW.write;
      const start = write.allocStart;
      const packet = write.alloc(payload.byteLength);
      packet.set(payload, start);
      this._authsQueue.push('publickey');
      this._debug?.('Outbound: Sending USERAUTH_REQUEST (publickey, OpenSSH certificate)');
      sendPacket(this, write.finalize(packet));
    });
  };
  patched[PATCHED] = true;
  patched[ORIGINAL] = original;
  Protocol.prototype.authPK = patched;
}

install();

interface ChannelInternals {
  type?: unknown;
  outgoing?: { id?: unknown; state?: unknown };
  _client?: { _protocol?: { signal?: (channel: number, name: string) => void } };
}

/**
 * Sends a `signal` channel request (name without `SIG`, e.g. `KILL`), also after EOF;
 * sshd then `killpg()`s the session's process group. Returns false when the channel can no
 * longer carry it (closing or closed) or ssh2's internals are not as pinned.
 */
export function signalChannel(stream: Ssh2Stream, name: string): boolean {
  const channel = stream as unknown as ChannelInternals;
  const state = channel.outgoing?.state;
  const id = channel.outgoing?.id;
  const protocol = channel._client?._protocol;
  if (channel.type !== 'session' || (state !== 'open' && state !== 'eof')) return false;
  if (typeof id !== 'number' || typeof protocol?.signal !== 'function') return false;
  protocol.signal(id, name);
  return true;
}

/** True while ssh2's `authPK` is the patched one. */
export function isCertPatchApplied(): boolean {
  return Protocol.prototype.authPK[PATCHED] === true;
}

/**
 * ssh2's own `authPK`, saved when patching: for the test that proves the patch is still
 * needed (swap it in, see a certificate login fail, swap the patch back). Not for use.
 */
export function unpatchedAuthPK(): unknown {
  const current = Protocol.prototype.authPK;
  return current[PATCHED] === true ? current[ORIGINAL] : current;
}
