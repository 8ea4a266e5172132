/**
 * The SSH transport: one command over one connection, authenticated by an `ssh_cert`
 * credential (an OpenSSH user certificate and its ephemeral key), with the host key checked
 * against known_hosts (never trust-on-first-use) and the run bounded in output and time.
 *
 * ssh2 is offered exactly one auth method, the certificate (no agent, no password, no
 * keyboard-interactive), and never sees the private key (see ssh-key.ts). Nor does it
 * resolve or connect: the address is pinned once (../destination.ts, refusing a name that
 * resolves to a metadata address) and ssh2 is handed the socket. Failures are
 * SshTransportErrors (errors.ts), which never quote ssh2's text.
 */
import type { LookupFunction, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { deadline } from '../../base/deadline.js';
import { InvalidArgumentError } from '../../base/errors.js';
import type { SshCertCredential } from '../../credentials/types.js';
import {
  signalChannel,
  ssh2,
  type Ssh2Client,
  type Ssh2ConnectConfig,
  type Ssh2Error,
  type Ssh2Stream,
} from '../../ssh/ssh2-cert-patch.js';
import { type ConnectFunction, defaultConnect, defaultLookup, pinAddress } from '../destination.js';
import type { HostKeyVerdict, KnownHosts } from '../known-hosts.js';
import { type ExecLimits, type ExecResult, notStartedResult } from '../types.js';
import { BoundedSink } from './bounded-sink.js';
import { credentialKey } from './credential-key.js';
import { SshTransportError, type SshErrorKind } from './errors.js';
import { hostKeyAlgorithms } from './host-key-algorithms.js';

export interface SshExecOptions {
  /** Where to connect: an IP literal as is, or a DNS name resolved once (and vetted). */
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
  /** Bound on resolving, and on connect + key exchange + auth; default 10 s each. */
  readyTimeoutMs?: number;
  /** Injectable resolver and TCP connect (tests: loopback only); dns.lookup and net.connect. */
  lookup?: LookupFunction | undefined;
  connect?: ConnectFunction | undefined;
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
const SSH_DESTINATION_ERRORS = {
  dnsFailed: () => new SshTransportError('connectFailed'),
  refused: () => new SshTransportError('destinationRefused'),
};

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
  const sock = await openSocket(options);
  if (sock === undefined) return notStarted(t0);
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
      // ssh2 runs over this socket, to the pinned address: it never resolves nor connects.
      sock,
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

/**
 * The TCP socket to the target's pinned address, or undefined when `signal` aborted while
 * the name was being resolved (nothing started). A refused address throws.
 */
async function openSocket(options: SshExecOptions): Promise<Socket | undefined> {
  const limit = deadline(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, options.signal);
  let pinned;
  try {
    pinned = await pinAddress(
      options.lookup ?? defaultLookup,
      options.address,
      limit.signal,
      SSH_DESTINATION_ERRORS,
    );
  } catch (err) {
    if (options.signal?.aborted === true) return undefined;
    throw err;
  } finally {
    limit.clear();
  }
  try {
    return (options.connect ?? defaultConnect)({ ...pinned, port: options.port });
  } catch {
    throw new SshTransportError('connectFailed');
  }
}

/** The result of a run aborted before it started: reported like a timeout, nothing killed. */
function notStarted(t0: number): SshExecResult {
  return { ...notStartedResult(t0), stdout_dropped_bytes: 0, stderr_dropped_bytes: 0 };
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
