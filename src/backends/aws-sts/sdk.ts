/**
 * The AWS SDK clients of one `aws_sts` backend (STS to issue, IAM to revoke), configured
 * for the zero-credential rules and for the resolver's deadlines:
 *
 * - the broker's own identity comes from the SDK's standard provider chain (environment,
 *   shared files, SSO, web identity, ECS, instance metadata), unless a provider is given;
 * - HTTP is the SDK's node:http handler without keep-alive (a pooled socket would keep a
 *   reply reachable) — never global fetch, whose buffers outlived the replies they held;
 * - no retry inside the backend: the resolver falls through to the next backend, and its
 *   deadline reaches the socket through the call's abort signal;
 * - each reply body is read by a collector of ours: at most MAX_REPLY_BYTES (a larger
 *   reply is refused unread), the socket's chunks zero-filled once copied, and the copy
 *   zero-filled once the call is over (`withReplies`). The SDK's own string of the body,
 *   and the strings it parses from it, stay in the heap until collected.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import type { PutRolePolicyCommandInput } from '@aws-sdk/client-iam';
import type { AssumeRoleCommandInput, AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { joinWiping } from '../../base/owned-bytes.js';
import { type BackendReason, BackendReasons } from '../../credentials/errors.js';

/** STS and IAM replies are a few kilobytes; anything larger is refused unread. */
export const MAX_REPLY_BYTES = 64 * 1024;

/** The broker's own AWS credentials, when not the standard provider chain. */
export type AwsIdentityProvider = () => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}>;

export interface SdkSettings {
  readonly region: string;
  /** STS endpoint (tests: moto on loopback); the SDK's default for the region otherwise. */
  readonly endpoint: string | undefined;
  /** IAM endpoint, for revocation; the SDK's default otherwise. */
  readonly iamEndpoint: string | undefined;
  readonly identity: AwsIdentityProvider | undefined;
  readonly timeoutMs: number;
}

class ReplyTooLarge extends Error {}

/** The reply bodies read during the current call, to zero-fill when it is over. */
const replies = new AsyncLocalStorage<Buffer[]>();

/** Runs one SDK call, then zero-fills every reply body it read. */
async function withReplies<T>(call: () => Promise<T>): Promise<T> {
  const read: Buffer[] = [];
  try {
    return await replies.run(read, call);
  } finally {
    for (const bytes of read) bytes.fill(0);
  }
}

/** The SDK's stream collector, bounded, with the socket's chunks zero-filled once copied. */
function collect(stream: unknown): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const body = stream as Readable;
    const chunks: Buffer[] = [];
    let total = 0;
    body.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > MAX_REPLY_BYTES) {
        for (const c of chunks) c.fill(0);
        chunks.length = 0;
        body.destroy();
        reject(new ReplyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    body.once('error', reject);
    body.once('end', () => {
      const all = joinWiping(chunks);
      replies.getStore()?.push(all);
      resolve(all);
    });
  });
}

function common(settings: SdkSettings, endpoint: string | undefined) {
  return {
    region: settings.region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(settings.identity !== undefined ? { credentials: settings.identity } : {}),
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: false }),
      httpsAgent: new HttpsAgent({ keepAlive: false }),
      connectionTimeout: settings.timeoutMs,
      requestTimeout: settings.timeoutMs,
    },
    streamCollector: collect,
  };
}

/** The one STS call the backend makes. */
export interface StsApi {
  assumeRole(input: AssumeRoleCommandInput, signal: AbortSignal): Promise<AssumeRoleCommandOutput>;
  destroy(): void;
}

/** The one IAM call the backend makes. */
export interface IamApi {
  putRolePolicy(input: PutRolePolicyCommandInput, signal: AbortSignal): Promise<unknown>;
  destroy(): void;
}

/** The SDK is loaded only when an `aws_sts` backend is built (it costs a quarter second). */
export async function stsApi(settings: SdkSettings): Promise<StsApi> {
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  const client = new STSClient(common(settings, settings.endpoint));
  return {
    assumeRole: (input, signal) =>
      withReplies(() => client.send(new AssumeRoleCommand(input), { abortSignal: signal })),
    destroy: () => client.destroy(),
  };
}

export async function iamApi(settings: SdkSettings): Promise<IamApi> {
  const { IAMClient, PutRolePolicyCommand } = await import('@aws-sdk/client-iam');
  const client = new IAMClient(common(settings, settings.iamEndpoint));
  return {
    putRolePolicy: (input, signal) =>
      withReplies(() => client.send(new PutRolePolicyCommand(input), { abortSignal: signal })),
    destroy: () => client.destroy(),
  };
}

/** An AWS error code, logged only when it has this shape; never the error's message. */
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;

/** What an SDK failure says that may be logged and returned: a status, a code, a reason. */
export function sdkFailure(err: unknown): {
  reason: BackendReason;
  status?: number;
  code?: string;
} {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status =
    typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = typeof e.name === 'string' && ERROR_CODE.test(e.name) ? e.name : undefined;
  let reason: BackendReason = BackendReasons.failed;
  if (status === 400 || status === 401 || status === 403) reason = BackendReasons.denied;
  else if (status === 429 || (status !== undefined && status >= 500)) {
    reason = BackendReasons.unavailable;
  } else if (status === undefined && isNetwork(code, e.code)) {
    reason = BackendReasons.unavailable;
  }
  return {
    reason,
    ...(status !== undefined ? { status } : {}),
    ...(code !== undefined ? { code } : {}),
  };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** No HTTP status: the peer was not reached, or cut off (refused, reset, aborted, timed out). */
function isNetwork(name: string | undefined, code: unknown): boolean {
  return (
    (typeof code === 'string' && NETWORK_CODES.has(code)) ||
    (name !== undefined && /^(AbortError|TimeoutError|RequestTimeout)/.test(name))
  );
}
