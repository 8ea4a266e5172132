/**
 * The `vault` backend: HashiCorp Vault or OpenBao (one HTTP API) as the issuer of every
 * credential, so the broker stores none. Per invocation it issues
 * - `ssh_cert`: a fresh Ed25519 key signed by the SSH secrets engine (ssh.ts), checked
 *   before use; a certificate cannot be revoked, so its `ttl` is the usable window;
 * - `oauth`: for a configured target, an identity token or a leased dynamic secret
 *   (tokens.ts); a lease is revoked at discard (`PUT /v1/sys/leases/revoke`).
 * The broker's own Vault token (session.ts) comes from AppRole or JWT login and lives in a
 * `Secret`; a 403 makes the next call log in again. Vault's error text is never read.
 * https://developer.hashicorp.com/vault/api-docs/system/leases#revoke-lease
 */
import { rootCertificates } from 'node:tls';
import { type Clock, systemClock } from '../../base/clock.js';
import { ConfigError } from '../../base/errors.js';
import { type Logger, silentLogger } from '../../base/logger.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import type { CredentialBinding } from '../../credentials/binding.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import {
  DEFAULT_BACKEND_TIMEOUT_MS,
  DEFAULT_MAX_TTL_MS,
  DEFAULT_SKEW_MS,
} from '../../credentials/resolver.js';
import type { Secret } from '../../credentials/secret.js';
import type {
  AcContext,
  Credential,
  CredentialOf,
  CredentialType,
} from '../../credentials/types.js';
import { targetMatches } from '../../governance/targets.js';
import { checkEndpoint, checkTimeoutMs } from '../oauth/config.js';
import { guardResolve, type ResolveGuard } from '../resolve-guard.js';
import { VaultHttp, type VaultReply } from './http.js';
import type { JsonFields } from './json-body.js';
import { dataOf, vaultReason } from './reply.js';
import { VaultSession, type VaultLogin } from './session.js';
import { signRequest, type SshSigning, sshCredential } from './ssh.js';
import { type TokenSource, tokenCredential, tokenPath } from './tokens.js';

export interface VaultSshOptions {
  readonly mount: string;
  readonly role: string;
  /** Target patterns (as in accords) this backend signs for; every target when absent. */
  readonly targets?: readonly string[] | undefined;
  /** Longest certificate validity asked for, in seconds; default the resolver's 5 minutes. */
  readonly ttlSeconds?: number | undefined;
}

export interface VaultBackendOptions {
  id?: string;
  /** `https://vault.example:8200`, or http to a loopback address (tests). */
  address: string;
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`. */
  namespace?: string | undefined;
  /** A PEM CA trusted for `address`, besides Node's list. */
  tlsCa?: string | undefined;
  login: VaultLogin;
  ssh?: VaultSshOptions | undefined;
  /** Canonical target → where its `oauth` token comes from. */
  tokens?: ReadonlyMap<string, TokenSource> | undefined;
  clock?: Clock;
  logger?: Logger;
  /** Per-request timeout, and the resolver's timeout for this backend; default 10 s. */
  timeoutMs?: number | undefined;
}

type Method = 'GET' | 'POST' | 'PUT';

export class VaultBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes: readonly CredentialType[];
  readonly timeoutMs?: number;
  readonly #guard: ResolveGuard<number>;
  readonly #http: VaultHttp;
  readonly #session: VaultSession;
  readonly #ssh: (SshSigning & { targets?: readonly string[] | undefined }) | undefined;
  readonly #tokens: ReadonlyMap<string, TokenSource>;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Leases issued and not yet revoked: only these are revoked at discard. */
  readonly #leases = new Set<string>();

  constructor(options: VaultBackendOptions) {
    this.id = options.id ?? 'vault';
    const address = checkEndpoint('vault.address', options.address).replace(/\/+$/, '');
    const timeoutMs = checkTimeoutMs('vault.timeoutMs', options.timeoutMs);
    if (timeoutMs !== undefined) this.timeoutMs = timeoutMs;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    this.#tokens = options.tokens ?? new Map();
    this.#ssh =
      options.ssh === undefined
        ? undefined
        : {
            mount: options.ssh.mount,
            role: options.ssh.role,
            targets: options.ssh.targets,
            ttlSeconds: options.ssh.ttlSeconds ?? DEFAULT_MAX_TTL_MS / 1000,
            skewMs: DEFAULT_SKEW_MS,
          };
    const types: CredentialType[] = [];
    if (this.#ssh !== undefined) types.push('ssh_cert');
    if (this.#tokens.size > 0) types.push('oauth');
    if (types.length === 0) throw new ConfigError('vault', 'configure ssh, tokens or both');
    this.supportedTypes = types;
    this.#http = new VaultHttp({
      address,
      namespace: options.namespace,
      ca: options.tlsCa === undefined ? undefined : [...rootCertificates, options.tlsCa],
      timeoutMs: timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
    });
    this.#session = new VaultSession(this.id, this.#http, options.login, this.#clock, this.#log);
    this.#guard = {
      types,
      accepts: (target, ac) => ac.target === target,
      prepare: () => this.#clock.now(),
      aborted: { reason: BackendReasons.unavailable, when: 'first' },
    };
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    ac: AcContext,
    signal?: AbortSignal,
    binding?: CredentialBinding,
  ): Promise<CredentialOf<T>> {
    const started = guardResolve(this.#guard, type, target, ac, signal);
    if (type === 'ssh_cert') {
      return (await this.#sshCert(target, ac, started, signal, binding)) as CredentialOf<T>;
    }
    return (await this.#token(target, started, signal)) as CredentialOf<T>;
  }

  /** Revokes a lease this backend issued; certificates and identity tokens have none. Never throws. */
  async revoke(credential: Credential): Promise<void> {
    const lease = credential.issuedBy === this.id ? credential.id : undefined;
    if (lease === undefined || !this.#leases.delete(lease)) return;
    await this.#revokeLease(lease);
  }

  async close(): Promise<void> {
    await this.#session.close();
  }

  async #sshCert(
    target: string,
    ac: AcContext,
    started: number,
    signal?: AbortSignal,
    binding?: CredentialBinding,
  ) {
    const ssh = this.#ssh;
    if (ssh === undefined) throw new CredentialResolutionError(BackendReasons.invalidRequest);
    // The AC's target is canonical, and so are the configured patterns.
    if (ssh.targets !== undefined && !ssh.targets.some((p) => targetMatches(p, target))) {
      throw new CredentialResolutionError(BackendReasons.unsupportedTarget);
    }
    const request = signRequest(ssh, ac, started, binding);
    let data: Record<string, unknown>;
    try {
      data = dataOf(await this.#call('POST', request.path, request.body, signal));
    } catch (err) {
      request.key.pem.fill(0);
      throw err;
    }
    return sshCredential(data, request, ssh, target, this.id);
  }

  async #token(target: string, started: number, signal?: AbortSignal) {
    const source = this.#tokens.get(target);
    if (source === undefined) throw new CredentialResolutionError(BackendReasons.unsupportedTarget);
    const reply = await this.#call('GET', tokenPath(source), undefined, signal);
    const data = dataOf(reply);
    const issued = tokenCredential(reply.json ?? {}, data, source, target, started, this.id);
    if ('unusableLease' in issued) {
      await this.#revokeLease(issued.unusableLease);
      throw new CredentialResolutionError(BackendReasons.failed);
    }
    if (issued.leaseId !== undefined) this.#leases.add(issued.leaseId);
    return issued.credential;
  }

  /** A call with the broker's token; a 403 makes the session log in anew next time. */
  async #call(
    method: Method,
    path: string,
    body: JsonFields | undefined,
    signal: AbortSignal | undefined,
  ): Promise<VaultReply> {
    const token: Secret = await this.#session.token(signal);
    const reply = await this.#http.call(method, path, { token, body, signal });
    if (reply.status === 403) this.#session.forget(token);
    if (reply.status !== 200 && reply.status !== 204) {
      this.#log.warn(
        { backend: this.id, status: reply.status, reason: vaultReason(reply.status) },
        'vault refused the request',
      );
    }
    return reply;
  }

  async #revokeLease(lease: string): Promise<void> {
    try {
      const reply = await this.#call('PUT', 'sys/leases/revoke', [['lease_id', lease]], undefined);
      if (reply.status !== 204 && reply.status !== 200) throw new RangeError();
    } catch {
      this.#log.warn({ backend: this.id }, 'vault lease not revoked');
    }
  }
}
