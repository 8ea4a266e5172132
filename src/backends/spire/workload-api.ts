/**
 * The SPIFFE Workload API client (gRPC over the SPIRE agent's unix socket), for the spire
 * backend. It exists to keep the wire in one place: the vendored proto, the security
 * header every call must carry (`workload.spiffe.io: true`), a deadline on every call, the
 * resolver's abort signal cancelling it, a ceiling on the size of a reply, and the gRPC
 * status turned into the backend's fixed reasons — never the agent's own text, which the
 * logs must not quote. Replies come back unchecked: jwt-svid.ts and x509-svid.ts read them.
 */
import { fileURLToPath } from 'node:url';
import {
  Client,
  credentials,
  Metadata,
  status,
  type CallOptions,
  type MethodDefinition,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { type Logger, silentLogger } from '../../base/logger.js';
import { copyOwned } from '../../base/owned-bytes.js';
import {
  type BackendReason,
  BackendReasons,
  CredentialResolutionError,
} from '../../credentials/errors.js';

/** The largest reply taken from the agent; an SVID, its chain and bundle fit many times over. */
export const MAX_REPLY_BYTES = 256 * 1024;

const PROTO = fileURLToPath(new URL('./workload.proto', import.meta.url));
let service: ServiceDefinition | undefined;

/**
 * The Workload API's service definition, from the vendored proto (read once). Bytes fields
 * stay Buffers (never base64 strings), so that a private key can be copied and zeroed.
 */
export function workloadService(): ServiceDefinition {
  service ??= loadSync(PROTO, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  })['SpiffeWorkloadAPI'] as ServiceDefinition;
  return service;
}

/** The metadata every Workload API call must carry (the agent refuses a call without it). */
export function securityHeader(): Metadata {
  const metadata = new Metadata();
  metadata.set('workload.spiffe.io', 'true');
  return metadata;
}

/** What the agent's gRPC status means for the resolver; the status's text is never kept. */
export function reasonOfStatus(code: number | undefined): BackendReason {
  switch (code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
      return BackendReasons.unavailable;
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return BackendReasons.denied;
    case status.INVALID_ARGUMENT:
      return BackendReasons.invalidRequest;
    default:
      return BackendReasons.failed;
  }
}

export interface WorkloadApiOptions {
  /** The agent's socket: an absolute path. */
  readonly socket: string;
  /** Each call's deadline, in ms. */
  readonly timeoutMs: number;
  /** Which backend is calling, for the log. */
  readonly backend: string;
  readonly logger?: Logger;
}

type Method = MethodDefinition<object, unknown>;

/** Copies every Buffer in a decoded reply into memory of its own (they are views into it). */
function detached(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return copyOwned(value);
  if (Array.isArray(value)) return value.map(detached);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, detached(v)]));
}

/**
 * The reply's deserializer, then the reply's bytes zero-filled: grpc-js hands over a view
 * of the received message, which for a small reply lies in Node's shared Buffer pool and
 * would keep the token (or the key) there after the call, until overwritten.
 */
function zeroingDeserializer(method: Method): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return detached(method.responseDeserialize(bytes));
    } finally {
      bytes.fill(0);
    }
  };
}

export class WorkloadApiClient {
  readonly #client: Client;
  readonly #timeoutMs: number;
  readonly #backend: string;
  readonly #log: Logger;

  constructor(options: WorkloadApiOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#backend = options.backend;
    this.#log = options.logger ?? silentLogger;
    this.#client = new Client(`unix://${options.socket}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_REPLY_BYTES,
      'grpc.max_send_message_length': 64 * 1024,
      // The agent is local: after a restart it is back within a second, so retry soon.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.enable_retries': 0,
    });
  }

  /** FetchJWTSVID: the JWT-SVIDs for `audience`, of `spiffeId` only when one is named. */
  fetchJwtSvid(audience: string, spiffeId: string | undefined, signal?: AbortSignal) {
    const method = workloadService()['FetchJWTSVID'] as Method;
    return this.#unary(method, { audience: [audience], spiffe_id: spiffeId ?? '' }, signal);
  }

  /** FetchX509SVID: the first message of the stream (the current SVIDs), then the stream ends. */
  fetchX509Svid(signal?: AbortSignal): Promise<unknown> {
    return this.#first(workloadService()['FetchX509SVID'] as Method, {}, signal);
  }

  close(): void {
    this.#client.close();
  }

  #options(): CallOptions {
    return { deadline: Date.now() + this.#timeoutMs };
  }

  #unary(method: Method, request: object, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call = this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        zeroingDeserializer(method),
        request,
        securityHeader(),
        this.#options(),
        (err, reply) => {
          signal?.removeEventListener('abort', cancel);
          if (err) reject(this.#failure(method, err));
          else resolve(reply);
        },
      );
      const cancel = (): void => call.cancel();
      if (signal?.aborted === true) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  #first(method: Method, request: object, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const stream = this.#client.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        zeroingDeserializer(method),
        request,
        securityHeader(),
        this.#options(),
      );
      let settled = false;
      const cancel = (): void => stream.cancel();
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', cancel);
        outcome();
        // The agent would go on streaming updates: one message is all a resolve needs.
        stream.cancel();
      };
      stream.on('data', (reply: unknown) => settle(() => resolve(reply)));
      // After our own cancel this reports CANCELLED, which settle then ignores.
      stream.on('error', (err: ServiceError) => settle(() => reject(this.#failure(method, err))));
      stream.on('end', () =>
        settle(() => reject(new CredentialResolutionError(BackendReasons.failed))),
      );
      if (signal?.aborted === true) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  #failure(method: Method, err: ServiceError): CredentialResolutionError {
    const reason = reasonOfStatus(err.code);
    // The status's name only: its details are the agent's text.
    this.#log.warn(
      { backend: this.#backend, call: method.path, grpc: status[err.code], reason },
      'Workload API call failed',
    );
    return new CredentialResolutionError(reason);
  }
}
