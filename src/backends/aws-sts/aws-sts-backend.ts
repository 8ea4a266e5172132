/**
 * The `aws_sts` backend: per invocation, temporary AWS credentials from STS AssumeRole,
 * narrowed to the AC — a session policy of the actions its capabilities map to on the
 * resources its target maps to (session.ts), and further to the one S3 request the
 * invocation will sign when the connector binds it (operation-scope.ts) — the principal
 * as SourceIdentity, the AC's id in the session name and tags — so the broker holds no standing key for any target, only
 * its own identity (the SDK's standard provider chain) allowed to assume the role.
 *
 * STS cannot issue a session shorter than 15 minutes, so the backend declares
 * `issuerCannotShortenLifetime`: the resolver clamps the usable window to its max TTL
 * (5 min) and marks the credential must-revoke. A reply valid beyond the duration asked
 * for is refused (credential.ts). Revocation (revoke.ts) is AWS's documented pattern, an
 * inline policy on the role denying every session issued before now — every session of
 * that role, not only this one — or nothing (`revoke: none`); best effort, logged, and the
 * resolver audits the discard.
 */
import type { AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { type Clock, systemClock } from '../../base/clock.js';
import { deadline } from '../../base/deadline.js';
import { ConfigError } from '../../base/errors.js';
import { type Logger, silentLogger } from '../../base/logger.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import type { CredentialBinding } from '../../credentials/binding.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { DEFAULT_BACKEND_TIMEOUT_MS, DEFAULT_SKEW_MS } from '../../credentials/resolver.js';
import type {
  AcContext,
  Credential,
  CredentialOf,
  CredentialType,
} from '../../credentials/types.js';
import { targetKind } from '../../governance/targets.js';
import { guardResolve, type ResolveGuard } from '../resolve-guard.js';
import { awsCredential } from './credential.js';
import { narrowToOperation } from './operation-scope.js';
import { RoleRevoker, type RevokeMode } from './revoke.js';
import { type AwsIdentityProvider, iamApi, sdkFailure, type StsApi, stsApi } from './sdk.js';
import {
  sessionName,
  sessionPolicy,
  type SessionPolicyRules,
  type SessionRequest,
  sessionTags,
  sourceIdentity,
} from './session.js';

/** An IAM role ARN: `arn:aws:iam::<account>:role/<path/name>`. */
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** STS's floor, and the default. */
export const MIN_DURATION_SECONDS = 900;
/** STS's ceiling for a role session (the role's own maximum may be lower). */
export const MAX_DURATION_SECONDS = 43_200;

export interface AwsStsBackendOptions {
  id?: string;
  /** `arn:aws:iam::<account>:role/<name>`: the role every session assumes. */
  roleArn: string;
  region: string;
  /** STS endpoint; https, or http to a loopback address (tests). */
  endpoint?: string;
  /** IAM endpoint, for revocation. */
  iamEndpoint?: string;
  /** Seconds asked for: at least 900 (STS's floor), the default. */
  durationSeconds?: number;
  sessionPolicy: SessionPolicyRules;
  /** Principal DID → SourceIdentity; default the DID with `:` as `.`. */
  sourceIdentity?: Readonly<Record<string, string>>;
  /** Default `sessions_issued_before_now`. */
  revoke?: RevokeMode;
  /** The broker's own AWS identity; default the SDK's standard provider chain. */
  identity?: AwsIdentityProvider;
  /** Per-call timeout, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number;
  /** Allowance between the broker's clock and STS's; default 30 s. */
  skewMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Prepared {
  readonly request: SessionRequest;
  readonly sourceIdentity: string;
  readonly started: number;
}

export class AwsStsBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['aws'] as const;
  readonly issuerCannotShortenLifetime = true;
  readonly timeoutMs?: number;
  readonly #options: AwsStsBackendOptions;
  readonly #durationSeconds: number;
  readonly #guard: ResolveGuard<Prepared>;
  readonly #sts: StsApi;
  readonly #revoker: RoleRevoker;
  readonly #requestTimeoutMs: number;
  readonly #log: Logger;

  private constructor(options: AwsStsBackendOptions, sts: StsApi, revoker: RoleRevoker) {
    this.id = options.id ?? 'aws-sts';
    this.#options = options;
    if (options.timeoutMs !== undefined) this.timeoutMs = options.timeoutMs;
    this.#durationSeconds = options.durationSeconds ?? MIN_DURATION_SECONDS;
    this.#requestTimeoutMs = options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    this.#log = options.logger ?? silentLogger;
    this.#sts = sts;
    this.#revoker = revoker;
    const clock = options.clock ?? systemClock;
    this.#guard = {
      types: ['aws'],
      accepts: (target, ac) => ac.target === target && targetKind(target) === 'url',
      prepare: (target, ac) => {
        const request = sessionPolicy(options.sessionPolicy, ac.capabilities, target);
        const identity = sourceIdentity(options.sourceIdentity ?? {}, ac.principal_did);
        const started = clock.now();
        if (!(ac.expires_at * 1000 > started)) {
          throw new CredentialResolutionError(BackendReasons.invalidRequest);
        }
        return { request, sourceIdentity: identity, started };
      },
      aborted: { reason: BackendReasons.unavailable, when: 'last' },
    };
  }

  /** Builds the backend and its SDK clients (the SDK is loaded here, on first use). */
  static async create(options: AwsStsBackendOptions): Promise<AwsStsBackend> {
    const duration = options.durationSeconds ?? MIN_DURATION_SECONDS;
    if (
      !Number.isInteger(duration) ||
      duration < MIN_DURATION_SECONDS ||
      duration > MAX_DURATION_SECONDS
    ) {
      throw new ConfigError('aws_sts.durationSeconds', 'must be a whole number from 900 to 43200');
    }
    if (!ROLE_ARN.test(options.roleArn)) {
      throw new ConfigError('aws_sts.roleArn', 'must be an IAM role ARN');
    }
    const sdk = {
      region: options.region,
      endpoint: options.endpoint,
      iamEndpoint: options.iamEndpoint,
      identity: options.identity,
      timeoutMs: options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
    };
    const revoker = new RoleRevoker({
      roleArn: options.roleArn,
      mode: options.revoke ?? 'sessions_issued_before_now',
      iam: () => iamApi(sdk),
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
      timeoutMs: sdk.timeoutMs,
    });
    return new AwsStsBackend(options, await stsApi(sdk), revoker);
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
    binding?: CredentialBinding,
  ): Promise<CredentialOf<T>> {
    const guarded = guardResolve(this.#guard, type, target, ac, signal);
    // The accord's policy, narrowed to the one request the credential will sign (#17).
    const prepared = { ...guarded, request: narrowToOperation(guarded.request, target, binding) };
    const limit = deadline(this.#requestTimeoutMs, signal);
    let reply: AssumeRoleCommandOutput;
    try {
      reply = await this.#sts.assumeRole(
        {
          RoleArn: this.#options.roleArn,
          RoleSessionName: sessionName(ac),
          DurationSeconds: this.#durationSeconds,
          Policy: prepared.request.policy,
          SourceIdentity: prepared.sourceIdentity,
          Tags: sessionTags(ac),
        },
        limit.signal,
      );
    } catch (err) {
      const failure = sdkFailure(err);
      this.#log.warn({ backend: this.id, ...failure }, 'STS AssumeRole failed');
      throw new CredentialResolutionError(failure.reason);
    } finally {
      limit.clear();
    }
    try {
      return awsCredential(reply, {
        target,
        issuedBy: this.id,
        roleArn: this.#options.roleArn,
        request: prepared.request,
        started: prepared.started,
        durationSeconds: this.#durationSeconds,
        skewMs: this.#options.skewMs ?? DEFAULT_SKEW_MS,
      }) as CredentialOf<T>;
    } finally {
      // The SDK's strings: no longer reachable from here.
      delete reply.Credentials;
    }
  }

  /** Best effort; never throws (revoke.ts). */
  revoke(credential: Credential): Promise<void> {
    if (credential.type !== 'aws' || credential.issuedBy !== this.id) return Promise.resolve();
    return this.#revoker.revoke(credential);
  }

  close(): Promise<void> {
    this.#sts.destroy();
    this.#revoker.close();
    return Promise.resolve();
  }
}
