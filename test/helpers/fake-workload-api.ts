/**
 * A fake SPIFFE Workload API on a unix socket (grpc-js, the vendored proto), for what a real
 * SPIRE agent cannot be made to do: answer slowly or never, with malformed or oversized
 * replies, or with a chosen gRPC status. Like the agent, it refuses a call without the
 * `workload.spiffe.io: true` header (INVALID_ARGUMENT). Every call is recorded with its
 * request, and whether the client cancelled it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { workloadService } from '../../src/backends/spire/workload-api.js';

/** A reply, a gRPC status to fail with, or `hang`: never answer (until the client gives up). */
export type FakeAnswer = Record<string, unknown> | { code: number } | 'hang';

export interface FakeCall {
  readonly method: 'FetchJWTSVID' | 'FetchX509SVID';
  readonly request: Record<string, unknown>;
  cancelled: boolean;
  /** Resolves when the client cancels the call (its deadline, its abort, or its close). */
  readonly whenCancelled: Promise<void>;
}

export interface FakeWorkloadApi {
  readonly socket: string;
  readonly calls: FakeCall[];
  /** What FetchJWTSVID answers, given the request. */
  jwt: (request: Record<string, unknown>) => FakeAnswer;
  /** What FetchX509SVID streams first (then the stream stays open, as the agent's does). */
  x509: () => FakeAnswer;
  /** Resolves when the next call arrives (for tests that act while a call is in flight). */
  nextCall(): Promise<FakeCall>;
  close(): Promise<void>;
}

export async function startFakeWorkloadApi(): Promise<FakeWorkloadApi> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-wlapi-'));
  const socket = join(dir, 'api.sock');
  const server = new Server();
  const waiting: ((call: FakeCall) => void)[] = [];
  const record = (
    method: FakeCall['method'],
    request: Record<string, unknown>,
    on: { on(event: 'cancelled', listener: () => void): unknown },
  ): FakeCall => {
    let cancelled: () => void = () => undefined;
    const call: FakeCall = {
      method,
      request,
      cancelled: false,
      whenCancelled: new Promise<void>((resolve) => (cancelled = resolve)),
    };
    on.on('cancelled', () => {
      call.cancelled = true;
      cancelled();
    });
    fake.calls.push(call);
    for (const wake of waiting.splice(0)) wake(call);
    return call;
  };
  const headerMissing = (metadata: { get(key: string): unknown[] }) =>
    metadata.get('workload.spiffe.io')[0] !== 'true';

  server.addService(workloadService(), {
    FetchJWTSVID(
      call: ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: sendUnaryData<unknown>,
    ) {
      record('FetchJWTSVID', call.request, call);
      if (headerMissing(call.metadata)) {
        callback({
          code: status.INVALID_ARGUMENT,
          details: 'security header missing from request',
        });
        return;
      }
      const answer = fake.jwt(call.request);
      if (answer === 'hang') return;
      if ('code' in answer && typeof answer.code === 'number') callback({ code: answer.code });
      else callback(null, answer);
    },
    FetchX509SVID(call: ServerWritableStream<Record<string, unknown>, unknown>) {
      record('FetchX509SVID', call.request, call);
      if (headerMissing(call.metadata)) {
        call.emit('error', { code: status.INVALID_ARGUMENT, details: 'security header missing' });
        return;
      }
      const answer = fake.x509();
      if (answer === 'hang') return;
      if ('code' in answer && typeof answer.code === 'number')
        call.emit('error', { code: answer.code });
      else call.write(answer);
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );

  const fake: FakeWorkloadApi = {
    socket,
    calls: [],
    jwt: () => ({ code: status.UNIMPLEMENTED }),
    x509: () => ({ code: status.UNIMPLEMENTED }),
    nextCall: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        rmSync(dir, { recursive: true, force: true });
        resolve();
      }),
  };
  return fake;
}
