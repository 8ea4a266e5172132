/**
 * CredentialResolver (seed: CredentialResolver, with its two bugs fixed): routes a request
 * to every backend that supports the type, in registration order, falling through on any
 * failure, and enforces invariants no backend can bypass — a credential is for the
 * requested type and target only (I3), has a valid expiry inside the max TTL (I2), and is
 * revoked and wiped whenever the resolver does not hand it on (I6). Each backend sits
 * behind its own circuit breaker (circuit.ts): an open circuit is skipped, uncalled, as
 * `backend_unavailable`.
 */
import { type Clock, systemClock } from '../base/clock.js';
import { AcExpiredError, BastionError, ConfigError, InvalidArgumentError } from '../base/errors.js';
import { type Logger, silentLogger } from '../base/logger.js';
import { noTelemetry, type Telemetry } from '../base/telemetry.js';
import { BACKEND_ID_PATTERN, type CredentialBackend } from './backend.js';
import { type CredentialBinding, sshCertificateBinding } from './binding.js';
import {
  type BackendAttempt,
  CredentialResolutionError,
  NoBackendAvailable,
  RejectReasons,
  outcomeOf,
  BackendReasons,
} from './errors.js';
import { checkCredential } from './checks.js';
import { BackendCircuit, DEFAULT_FAILOVER, type FailoverSettings } from './circuit.js';
import type { BackendHealth } from './health.js';
import {
  type AcContext,
  type Credential,
  type CredentialOf,
  type CredentialType,
  disposeCredential,
  isCredentialType,
} from './types.js';

export const DEFAULT_MAX_TTL_MS = 5 * 60_000;
/** The ceiling a deployment may configure: AWS STS cannot issue anything shorter than this. */
export const MAX_TTL_CEILING_MS = 15 * 60_000;
export const DEFAULT_MIN_WINDOW_MS = 5_000;
export const DEFAULT_SKEW_MS = 30_000;
export const MAX_SKEW_MS = 5 * 60_000;
export const DEFAULT_BACKEND_TIMEOUT_MS = 10_000;

export interface ResolverOptions {
  clock?: Clock;
  logger?: Logger;
  /** Longest usable window of a credential; may be lowered, never above 15 minutes. */
  maxTtlMs?: number;
  /** Shortest usable window worth handing to a transport. */
  minWindowMs?: number;
  /** Clock skew allowed between Bastion and issuers, in both directions. */
  skewMs?: number;
  /** Default per-backend timeout for resolve and revoke. */
  timeoutMs?: number;
  /** Default circuit breaker of every backend: failures in a row that open it, and for how long. */
  failover?: FailoverSettings;
  /** Counts each backend's answer (issued, or its reason); none by default. */
  telemetry?: Telemetry;
}

export interface RegisterOptions {
  /** This backend's circuit breaker, instead of the resolver's default. */
  failover?: FailoverSettings;
}

export interface ResolveOptions {
  /** Aborts the whole resolution (e.g. the client went away). */
  signal?: AbortSignal;
  /** What the credential must be bound to; every backend is asked for it, and checked. */
  binding?: CredentialBinding | undefined;
}

export class UnsupportedCredentialTypeError extends BastionError {
  constructor() {
    super('unsupported_credential_type');
  }
}

export { AcExpiredError };

export class ScopeMismatchError extends BastionError {
  constructor() {
    super('scope_mismatch');
  }
}

type Outcome<T> = { credential: T } | { reason: string; code?: string };

export class CredentialResolver {
  readonly maxTtlMs: number;
  readonly minWindowMs: number;
  readonly skewMs: number;
  readonly timeoutMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #backends: CredentialBackend[] = [];
  readonly #byId = new Map<string, CredentialBackend>();
  readonly #circuits = new Map<string, BackendCircuit>();
  readonly #failover: FailoverSettings;
  readonly #revoked = new WeakSet<object>();
  readonly #telemetry: Telemetry;

  constructor(options: ResolverOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    this.maxTtlMs = bounded(
      'maxTtlMs',
      options.maxTtlMs ?? DEFAULT_MAX_TTL_MS,
      1,
      MAX_TTL_CEILING_MS,
    );
    this.minWindowMs = bounded(
      'minWindowMs',
      options.minWindowMs ?? DEFAULT_MIN_WINDOW_MS,
      0,
      this.maxTtlMs - 1,
    );
    this.skewMs = bounded('skewMs', options.skewMs ?? DEFAULT_SKEW_MS, 0, MAX_SKEW_MS);
    this.timeoutMs = bounded(
      'timeoutMs',
      options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
      1,
      120_000,
    );
    this.#failover = options.failover ?? DEFAULT_FAILOVER;
    this.#telemetry = options.telemetry ?? noTelemetry;
  }

  /** Adds a backend; resolution tries backends in the order they were registered. */
  register(backend: CredentialBackend, options: RegisterOptions = {}): void {
    if (!BACKEND_ID_PATTERN.test(backend.id)) {
      throw new ConfigError('backend id', 'must match ' + BACKEND_ID_PATTERN.source);
    }
    if (this.#byId.has(backend.id))
      throw new ConfigError(`backend ${backend.id}`, 'id already registered');
    if (!Array.isArray(backend.supportedTypes) || !backend.supportedTypes.every(isCredentialType)) {
      throw new ConfigError(
        `backend ${backend.id}`,
        'supportedTypes must list known credential types',
      );
    }
    if (backend.timeoutMs !== undefined)
      bounded(`backend ${backend.id} timeoutMs`, backend.timeoutMs, 1, 120_000);
    const circuit = new BackendCircuit(
      backend.id,
      backend.supportedTypes,
      options.failover ?? this.#failover,
      this.#clock,
      this.#log,
    );
    this.#backends.push(backend);
    this.#byId.set(backend.id, backend);
    this.#circuits.set(backend.id, circuit);
  }

  /** Each backend's health and circuit state, in resolution order. */
  health(): BackendHealth[] {
    return this.#backends.flatMap((b) => this.#circuits.get(b.id)?.health() ?? []);
  }

  /** Ids of the registered backends, in resolution order. */
  get backendIds(): readonly string[] {
    return this.#backends.map((b) => b.id);
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    acContext: AcContext,
    options: ResolveOptions = {},
  ): Promise<CredentialOf<T>> {
    if (!isCredentialType(type)) throw new UnsupportedCredentialTypeError();
    if (typeof target !== 'string' || target.length === 0 || target.length > 2048) {
      throw new InvalidArgumentError('target');
    }
    // Defence in depth: connectors check this first, but a credential must never be
    // issued for a target the AC does not name, or under an AC that has run out.
    if (acContext.target !== target) throw new ScopeMismatchError();
    if (!(acContext.expires_at * 1000 > this.#clock.now())) throw new AcExpiredError();

    const capable = this.#backends.filter((b) => b.supportedTypes.includes(type));
    if (capable.length === 0) throw new NoBackendAvailable(type);

    const attempts: BackendAttempt[] = [];
    const { signal } = options;
    for (const backend of capable) {
      const circuit = this.#circuits.get(backend.id);
      const attempt = () => this.#attempt(backend, type, target, acContext, options);
      const outcome = await (circuit?.run(attempt, signal) ?? attempt());
      this.#telemetry.resolution(backend.id, 'credential' in outcome ? 'issued' : outcome.reason);
      if ('credential' in outcome) return outcome.credential;
      const code = 'code' in outcome ? outcome.code : undefined;
      attempts.push({ backend: backend.id, reason: outcome.reason, ...(code ? { code } : {}) });
      const fields = { backend: backend.id, type, target, reason: outcome.reason, code };
      if ('skipped' in outcome) this.#log.debug(fields, 'circuit open: backend skipped');
      else this.#log.warn(fields, 'credential backend did not issue; trying the next one');
      if (outcome.reason === RejectReasons.aborted) break;
    }
    throw new CredentialResolutionError(BackendReasons.failed, attempts);
  }

  /**
   * Best-effort revocation at the backend named by `issuedBy`. Idempotent; never throws;
   * a backend's failure is logged without its text.
   */
  async revoke(credential: Credential): Promise<void> {
    if (typeof credential !== 'object' || credential === null) return;
    if (this.#revoked.has(credential)) return;
    this.#revoked.add(credential);
    const backend = this.#byId.get(credential.issuedBy);
    if (backend === undefined) {
      this.#log.warn(
        { issuedBy: String(credential.issuedBy).slice(0, 64), type: credential.type },
        'no registered backend issued this credential; not revoked',
      );
      return;
    }
    await this.#guardedRevoke(backend, credential);
  }

  /** Revoke, then zero-fill every secret: what a connector's `finally` calls. Never throws. */
  async discard(credential: Credential): Promise<void> {
    try {
      await this.revoke(credential);
    } finally {
      disposeCredential(credential);
    }
  }

  async #attempt<T extends CredentialType>(
    backend: CredentialBackend,
    type: T,
    target: string,
    acContext: AcContext,
    { signal: outer, binding }: ResolveOptions,
  ): Promise<Outcome<CredentialOf<T>>> {
    if (outer?.aborted) return { reason: RejectReasons.aborted };
    const controller = new AbortController();
    const onOuterAbort = (): void => controller.abort();
    outer?.addEventListener('abort', onOuterAbort, { once: true });

    type Settled = { value: unknown } | { error: unknown } | { stop: string };
    let timer: NodeJS.Timeout | undefined;
    const call = Promise.resolve()
      .then(() => backend.resolve(type, target, acContext, controller.signal, binding))
      .then(
        (value): Settled => ({ value }),
        (error: unknown): Settled => ({ error }),
      );
    const stop = new Promise<Settled>((resolve) => {
      timer = setTimeout(
        () => resolve({ stop: RejectReasons.timeout }),
        backend.timeoutMs ?? this.timeoutMs,
      );
      controller.signal.addEventListener('abort', () => resolve({ stop: RejectReasons.aborted }), {
        once: true,
      });
    });

    try {
      const settled = await Promise.race([call, stop]);
      if ('stop' in settled) {
        controller.abort();
        // A backend that ignores the signal may still issue: revoke and wipe it then.
        void call.then((late) => {
          if ('value' in late) void this.#discardUnused(backend, late.value);
        });
        return { reason: settled.stop };
      }
      if ('error' in settled) return outcomeOf(settled.error);

      const checked = checkCredential(settled.value, {
        type,
        target,
        backendId: backend.id,
        canClamp: backend.issuerCannotShortenLifetime === true,
        now: this.#clock.now(),
        maxTtlMs: this.maxTtlMs,
        minWindowMs: this.minWindowMs,
        skewMs: this.skewMs,
        ssh: type === 'ssh_cert' ? sshCertificateBinding(binding) : undefined,
      });
      if ('reason' in checked) {
        await this.#discardUnused(backend, settled.value);
        return checked;
      }
      if (checked.credential.mustRevoke === true) {
        this.#log.info(
          {
            backend: backend.id,
            type,
            target,
            issuerExpiresAt: checked.credential.issuerExpiresAt,
          },
          'issuer cannot shorten the lifetime; usable window clamped, credential must be revoked',
        );
      }
      return { credential: checked.credential as CredentialOf<T> };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** A credential the resolver will not hand on: revoke at its issuer and wipe it. */
  async #discardUnused(backend: CredentialBackend, value: unknown): Promise<void> {
    if (typeof value === 'object' && value !== null) {
      this.#revoked.add(value);
      await this.#guardedRevoke(backend, value as Credential);
    }
    disposeCredential(value);
  }

  async #guardedRevoke(backend: CredentialBackend, credential: Credential): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), backend.timeoutMs ?? this.timeoutMs);
      });
      const result = await Promise.race([
        Promise.resolve().then(() => backend.revoke(credential)),
        timeout,
      ]);
      if (result === 'timeout') {
        this.#log.warn(
          { backend: backend.id, type: credential.type, reason: 'timeout' },
          'credential revoke failed',
        );
      }
    } catch (err) {
      this.#log.warn(
        { backend: backend.id, type: credential.type, reason: outcomeOf(err).reason },
        'credential revoke failed',
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

function bounded(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(name, `must be a number from ${min} to ${max}`);
  }
  return value;
}
