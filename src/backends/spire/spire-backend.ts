/**
 * The `spire` backend: the broker is a SPIFFE workload, and per invocation asks its SPIRE
 * agent, over the Workload API's unix socket, for an SVID of the identity the AC's
 * principal maps to — a JWT-SVID whose audience is the target (credential `oauth`, the
 * HTTP connector's bearer token), or an X.509-SVID for mutual TLS (`x509_svid`). SPIRE
 * holds the keys that sign them; the broker keeps nothing between invocations.
 *
 * SVIDs cannot be revoked, and the Workload API has no way to ask for a shorter lifetime:
 * their TTL is the registration entry's (or the server's default). So the backend declares
 * `issuerCannotShortenLifetime`: an SVID that outlives the window is clamped to it by the
 * resolver and marked must-revoke, and `revoke` can only say that the SVID stays valid
 * until its own expiry. Register the broker's entries with short TTLs (README).
 */
import { type Clock, systemClock } from '../../base/clock.js';
import { ConfigError } from '../../base/errors.js';
import { type Logger, silentLogger } from '../../base/logger.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { DEFAULT_BACKEND_TIMEOUT_MS } from '../../credentials/resolver.js';
import type {
  AcContext,
  Credential,
  CredentialOf,
  CredentialType,
} from '../../credentials/types.js';
import { checkTimeoutMs } from '../oauth/config.js';
import { acceptsTargets, guardResolve, type ResolveGuard } from '../resolve-guard.js';
import { jwtSvidCredential } from './jwt-svid.js';
import { type AudienceRule, audienceFor, type IdentityRule, identityFor } from './rules.js';
import { isAudience, isSpiffeId } from './spiffe-id.js';
import { WorkloadApiClient } from './workload-api.js';
import { x509SvidCredential } from './x509-svid.js';

/** A unix socket path longer than this cannot be connected to (sun_path). */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface SpireBackendOptions {
  id?: string;
  /** The SPIRE agent's Workload API socket: an absolute path. */
  socket: string;
  /** The broker's SPIFFE ID to ask for; default the agent's first (the Workload API's default). */
  spiffeId?: string;
  /** The targets it issues for (canonical patterns); default every target. */
  targets?: readonly string[];
  /** Per principal, another of the broker's SPIFFE IDs (first match). */
  identities?: readonly IdentityRule[];
  /** Per target pattern, the JWT-SVID's audience (first match); default the target itself. */
  audiences?: readonly AudienceRule[];
  /** Verify the target's certificate with the trust domain's bundle (default) or the system roots. */
  x509VerifyTarget?: 'bundle' | 'system';
  /** Each Workload API call's deadline, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Prepared {
  readonly started: number;
  readonly spiffeId: string | undefined;
}

function checkOptions(options: SpireBackendOptions): void {
  const { socket } = options;
  if (typeof socket !== 'string' || !socket.startsWith('/')) {
    throw new ConfigError('spire.socket', 'must be an absolute path');
  }
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
    throw new ConfigError('spire.socket', `must be at most ${MAX_SOCKET_PATH_BYTES} bytes long`);
  }
  const ids = [options.spiffeId, ...(options.identities ?? []).map((r) => r.spiffeId)];
  if (!ids.every((id) => id === undefined || isSpiffeId(id))) {
    throw new ConfigError('spire.spiffe_id', 'must be a SPIFFE ID (spiffe://trust-domain/path)');
  }
  if (!(options.audiences ?? []).every((rule) => isAudience(rule.audience))) {
    throw new ConfigError('spire.audiences', 'each audience must be a SPIFFE ID or an http(s) URL');
  }
}

export class SpireBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['oauth', 'x509_svid'] as const;
  /** The Workload API cannot ask for a shorter TTL, and SVIDs cannot be revoked. */
  readonly issuerCannotShortenLifetime = true;
  readonly timeoutMs?: number;
  readonly #client: WorkloadApiClient;
  readonly #options: SpireBackendOptions;
  readonly #guard: ResolveGuard<Prepared>;
  readonly #log: Logger;

  constructor(options: SpireBackendOptions) {
    checkOptions(options);
    this.id = options.id ?? 'spire';
    this.#options = options;
    const timeoutMs = checkTimeoutMs('spire.timeoutMs', options.timeoutMs);
    if (timeoutMs !== undefined) this.timeoutMs = timeoutMs;
    this.#log = options.logger ?? silentLogger;
    this.#client = new WorkloadApiClient({
      socket: options.socket,
      timeoutMs: timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
      backend: this.id,
      logger: this.#log,
    });
    const clock = options.clock ?? systemClock;
    this.#guard = {
      types: this.supportedTypes,
      accepts: acceptsTargets(options.targets),
      prepare: (_target, ac) => {
        const started = clock.now();
        if (!(ac.expires_at * 1000 > started)) {
          throw new CredentialResolutionError(BackendReasons.invalidRequest);
        }
        return { started, spiffeId: identityFor(options.identities ?? [], options.spiffeId, ac) };
      },
      aborted: { reason: BackendReasons.unavailable, when: 'last' },
    };
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
  ): Promise<CredentialOf<T>> {
    const { started, spiffeId } = guardResolve(this.#guard, type, target, ac, signal);
    if (type === 'x509_svid') {
      const reply = await this.#client.fetchX509Svid(signal);
      return x509SvidCredential(reply, {
        target,
        spiffeId,
        withBundle: this.#options.x509VerifyTarget !== 'system',
        started,
        issuedBy: this.id,
      }) as CredentialOf<T>;
    }
    const audience = audienceFor(this.#options.audiences ?? [], target);
    if (!isAudience(audience)) {
      // A bare host is no audience a verifier could name: map it in `audiences`.
      throw new CredentialResolutionError(BackendReasons.unsupportedTarget);
    }
    const reply = await this.#client.fetchJwtSvid(audience, spiffeId, signal);
    return jwtSvidCredential(reply, {
      target,
      audience,
      spiffeId,
      started,
      issuedBy: this.id,
    }) as CredentialOf<T>;
  }

  /**
   * SVIDs cannot be revoked: a JWT-SVID or X.509-SVID stays valid until its own expiry,
   * whatever the broker does. The resolver clamped the broker's use of it to its window;
   * all that is left is to say so. Never throws.
   */
  revoke(credential: Credential): Promise<void> {
    if (credential.issuedBy === this.id) {
      this.#log.info(
        {
          backend: this.id,
          type: credential.type,
          issuerExpiresAt: credential.issuerExpiresAt ?? credential.expiresAt,
        },
        'SVIDs cannot be revoked; this one remains valid until its own expiry',
      );
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#client.close();
    return Promise.resolve();
  }
}
