/**
 * The SSH transport: one command over one connection, authenticated by an `ssh_cert`
 * credential (an OpenSSH user certificate and its ephemeral key), with the host key checked
 * against known_hosts (never trust-on-first-use) and the run bounded in output and time.
 *
 * ssh2 is offered exactly one auth method, the certificate (no agent, no password, no
 * keyboard-interactive), and never sees the private key (see ssh-key.ts). Errors are
 * BastionErrors with fixed, log-safe messages: ssh2's error text can carry host data
 * (banners, disconnect descriptions), so it is never quoted nor attached as a cause.
 */
import { performance } from 'node:perf_hooks';
import { SecretDisposedError } from '../credentials/secret.js';
import type { SshCertCredential } from '../credentials/types.js';
import { BastionError, InvalidArgumentError } from '../base/errors.js';
import type { HostKeyVerdict, KnownHosts } from './known-hosts.js';
import { certificateAuthKey, SshKeyError } from '../ssh/ssh-key.js';
import {
  signalChannel,
  ssh2,
  SSH2_HOST_KEY_ALGORITHMS,
  type Ssh2Client,
  type Ssh2ConnectConfig,
  type Ssh2Error,
  type Ssh2ParsedKey,
  type Ssh2Stream,
} from '../ssh/ssh2-cert-patch.js';
import type { ExecLimits, ExecResult } from './types.js';

export const SshErrorCodes = {
  connectFailed: 'ssh_connect_failed',
  hostKeyUnknown: 'ssh_host_key_unknown',
  hostKeyMismatch: 'ssh_host_key_mismatch',
  hostKeyRevoked: 'ssh_host_key_revoked',
  authFailed: 'ssh_auth_failed',
  execFailed: 'ssh_exec_failed',
  /** Refused before connecting: expired, disposed, or a certificate/key that does not parse. */
  credentialUnusable: 'ssh_credential_unusable',
} as const;

export type SshErrorKind = keyof typeof SshErrorCodes;

/** Every SSH transport failure; status 502: the target (or its credential) failed us. */
export class SshTransportError extends BastionError {
  constructor(kind: SshErrorKind) {
    super(SshErrorCodes[kind]);
  }
}

export interface SshExecOptions {
  /** Where to connect (IP or DNS name). */
  address: string;
  port: number;
  /** The name checked against known_hosts, e.g. the AC target. */
  hostName: string;
  username: string;
  credential: SshCertCredential;
  knownHosts: KnownHosts;
  /** A command line for the remote login shell; see `shellQuote` to run an argv. */
  command: string;
  stdin?: Buffer;
  limits: ExecLimits;
  /** Aborting ends the run like the timeout does (the caller's own deadline). */
  signal?: AbortSignal;
  /** Bound on connect + key exchange + auth; default 10 s. */
  readyTimeoutMs?: number;
}

/** ExecResult plus how many bytes past `maxOutputBytes` were dropped, per stream. */
export interface SshExecResult extends ExecResult {
  stdout_dropped_bytes: number;
  stderr_dropped_bytes: number;
}

const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** How long to wait for ssh2 to close the socket politely before destroying it. */
const CLOSE_GRACE_MS = 1_000;
const KILL_SIGNAL = 'KILL';

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
function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const preferred = new Set(knownTypes.flatMap((t) => HOST_KEY_ALGORITHMS_BY_TYPE[t] ?? []));
  return [
    ...SSH2_HOST_KEY_ALGORITHMS.filter((a) => preferred.has(a)),
    ...SSH2_HOST_KEY_ALGORITHMS.filter((a) => !preferred.has(a)),
  ];
}

/** Keeps the first `limit` bytes of a stream and counts the rest. */
class BoundedSink {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}
  get full(): boolean {
    return this.dropped > 0;
  }
  push(chunk: Buffer): void {
    const room = this.limit - this.#kept;
    if (room > 0) {
      const part = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
      this.#chunks.push(Buffer.from(part));
      this.#kept += part.byteLength;
    }
    this.dropped += Math.max(0, chunk.byteLength - Math.max(room, 0));
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

function checkOptions(o: SshExecOptions): void {
  const { maxOutputBytes, timeoutMs } = o.limits;
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new InvalidArgumentError('exec limits');
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError('exec limits');
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
    throw new InvalidArgumentError('SSH port');
  }
  if (o.username === '' || o.username.includes('\0')) throw new InvalidArgumentError('SSH user');
  if (o.command === '' || o.command.includes('\0')) throw new InvalidArgumentError('command');
}

/** The credential as an ssh2 key, or the reason it cannot be used (checked before connecting). */
function credentialKey(credential: SshCertCredential): Ssh2ParsedKey {
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

const HOST_KEY_ERRORS: Readonly<Record<Exclude<HostKeyVerdict, 'ok'>, SshErrorKind>> = {
  unknown: 'hostKeyUnknown',
  mismatch: 'hostKeyMismatch',
  revoked: 'hostKeyRevoked',
};

/**
 * Runs `command` on the target and returns its output, exit code and signal. Output is
 * bounded per stream to `limits.maxOutputBytes` (the first bytes are kept, the rest counted
 * and the `*_truncated` flag set; once both streams are over, the channel is closed).
 * `limits.timeoutMs` counts from the exec request: past it, or when `signal` aborts, the
 * remote process group gets SIGKILL (a `signal` channel request), the connection is closed,
 * and the result has `timed_out: true`, `exit_code: null`, `signal: 'SIGKILL'` (no signal
 * when the abort came before the command started). `duration_ms` covers the whole call.
 * The connection is always ended, on every path.
 */
export async function sshExec(options: SshExecOptions): Promise<SshExecResult> {
  const t0 = performance.now();
  checkOptions(options);
  const key = credentialKey(options.credential);
  const { limits, signal } = options;
  if (signal?.aborted === true) {
    // Aborted before anything started: nothing to connect to, nothing to kill.
    return notStarted(t0);
  }
  const stdout = new BoundedSink(limits.maxOutputBytes);
  const stderr = new BoundedSink(limits.maxOutputBytes);

  const client: Ssh2Client = new ssh2.Client();
  let closed = false;
  client.on('close', () => (closed = true));

  const outcome = await new Promise<
    { kind: 'done'; result: SshExecResult } | { kind: 'error'; error: Error }
  >((resolve) => {
    let verdict: HostKeyVerdict | undefined;
    let phase: 'connecting' | 'running' | 'done' = 'connecting';
    let stream: Ssh2Stream | undefined;
    let exitCode: number | null = null;
    let exitSignal: string | undefined;
    let timer: NodeJS.Timeout | undefined;

    const result = (over: Partial<ExecResult>): SshExecResult => ({
      exit_code: exitCode,
      ...(exitSignal !== undefined ? { signal: exitSignal } : {}),
      stdout: stdout.text(),
      stderr: stderr.text(),
      stdout_truncated: stdout.full,
      stderr_truncated: stderr.full,
      timed_out: false,
      duration_ms: 0,
      stdout_dropped_bytes: stdout.dropped,
      stderr_dropped_bytes: stderr.dropped,
      ...over,
    });
    const settle = (value: Parameters<typeof resolve>[0]): void => {
      if (phase === 'done') return;
      phase = 'done';
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const fail = (kind: SshErrorKind): void =>
      settle({ kind: 'error', error: new SshTransportError(kind) });

    /** Timeout or abort: kill the remote process group, then report a timed-out run. */
    function stop(): void {
      if (phase === 'done') return;
      if (stream === undefined) {
        settle({ kind: 'done', result: result({ exit_code: null, timed_out: true }) });
        return;
      }
      try {
        signalChannel(stream, KILL_SIGNAL);
      } catch {
        // The channel may already be closing; the connection is ended below regardless.
      }
      settle({
        kind: 'done',
        result: result({ exit_code: null, signal: 'SIGKILL', timed_out: true }),
      });
    }
    function onAbort(): void {
      stop();
    }

    client.on('error', (err: Ssh2Error) => {
      if (phase === 'done') return;
      if (verdict !== undefined && verdict !== 'ok') return fail(HOST_KEY_ERRORS[verdict]);
      if (err.level === 'client-authentication') return fail('authFailed');
      fail(phase === 'connecting' ? 'connectFailed' : 'execFailed');
    });
    client.on('close', () => {
      if (phase === 'done') return;
      if (verdict !== undefined && verdict !== 'ok') return fail(HOST_KEY_ERRORS[verdict]);
      fail(phase === 'connecting' ? 'connectFailed' : 'execFailed');
    });
    client.on('ready', () => {
      if (phase === 'done') return;
      phase = 'running';
      timer = setTimeout(stop, limits.timeoutMs);
      try {
        client.exec(options.command, (err, channel) => {
          if (phase === 'done') return;
          if (err !== undefined) return fail('execFailed');
          stream = channel;
          let closing = false;
          const onData = (sink: BoundedSink) => (chunk: Buffer) => {
            sink.push(chunk);
            // Both limits hit: nothing more will be kept, so stop the flood at its source.
            if (stdout.full && stderr.full && !closing) {
              closing = true;
              channel.close();
            }
          };
          channel.on('data', onData(stdout));
          channel.stderr.on('data', onData(stderr));
          channel.on('exit', (code, sig) => {
            exitCode = typeof code === 'number' ? code : null;
            exitSignal = typeof sig === 'string' ? sig : undefined;
          });
          channel.on('error', () => fail('execFailed'));
          channel.on('close', () => settle({ kind: 'done', result: result({}) }));
          channel.end(options.stdin);
        });
      } catch {
        fail('execFailed');
      }
    });

    signal?.addEventListener('abort', onAbort, { once: true });

    const knownTypes = options.knownHosts.keyTypesFor(options.hostName, options.port);
    const serverHostKey = hostKeyAlgorithms(knownTypes);
    const config: Ssh2ConnectConfig = {
      host: options.address,
      port: options.port,
      username: options.username,
      // The only method offered; ssh2 adds none (no agent, password or keyboard-interactive).
      authHandler: [{ type: 'publickey', username: options.username, key }],
      hostVerifier: (hostKey: Buffer) => {
        verdict = options.knownHosts.check(options.hostName, options.port, hostKey);
        return verdict === 'ok';
      },
      readyTimeout: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      tryKeyboard: false,
      algorithms: { serverHostKey },
    };
    try {
      client.connect(config);
    } catch {
      fail('connectFailed');
    }
  });

  if (!closed) await closeClient(client);
  if (outcome.kind === 'error') throw outcome.error;
  return { ...outcome.result, duration_ms: Math.round(performance.now() - t0) };
}

/** The result of a run aborted before it started: reported like a timeout, nothing killed. */
function notStarted(t0: number): SshExecResult {
  return {
    exit_code: null,
    stdout: '',
    stderr: '',
    stdout_truncated: false,
    stderr_truncated: false,
    timed_out: true,
    duration_ms: Math.round(performance.now() - t0),
    stdout_dropped_bytes: 0,
    stderr_dropped_bytes: 0,
  };
}

/** Ends the connection and waits (briefly) for its socket to close; never throws. */
function closeClient(client: Ssh2Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, CLOSE_GRACE_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.on('close', done);
    client.on('error', () => undefined); // late errors have nowhere to go
    try {
      client.end();
    } catch {
      client.destroy();
    }
  });
}

/** Characters that never need quoting in a POSIX shell word. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * An argv as one POSIX shell command line: each argument single-quoted unless it is made of
 * safe characters only, `'` written as `'\''`. The remote login shell parses the command
 * line (sshd runs `$SHELL -c`), so this is right for sh, dash, bash, ksh and zsh, not for
 * csh or fish. NUL cannot travel in a command line and is refused, as is an empty argv.
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new InvalidArgumentError('argv');
  return argv
    .map((arg) => {
      if (arg.includes('\0')) throw new InvalidArgumentError('argv');
      if (SHELL_SAFE.test(arg)) return arg;
      return `'${arg.replaceAll("'", `'\\''`)}'`;
    })
    .join(' ');
}
