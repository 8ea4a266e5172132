/**
 * The broker's own Vault token, its identity towards Vault (never a target credential):
 * obtained by logging in with AppRole or JWT auth, kept only in a `Secret`, never written
 * anywhere. At use, once half its TTL has passed, it is renewed (renew-self); when renewal
 * fails, when it has expired, or after Vault refused it (`forget`), the broker logs in
 * again. Logins and renewals are single-flight: concurrent invocations share one. `close`
 * revokes it (revoke-self) and zero-fills what the session holds.
 * https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle
 * https://developer.hashicorp.com/vault/api-docs/auth/jwt#jwt-login
 * https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self
 * https://developer.hashicorp.com/vault/api-docs/auth/token#revoke-a-token-self
 */
import type { Clock } from '../../base/clock.js';
import type { Logger } from '../../base/logger.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { Secret } from '../../credentials/secret.js';
import type { VaultHttp } from './http.js';
import { objectField, secondsOf, vaultReason } from './reply.js';

/** How the broker logs in: its AppRole, or a JWT of its own (e.g. a workload identity token). */
export type VaultLogin =
  | {
      readonly method: 'approle';
      readonly mount: string;
      readonly roleId: string;
      readonly secretId: Secret;
    }
  | {
      readonly method: 'jwt';
      readonly mount: string;
      readonly role: string;
      /** A fresh Secret per login (a file is re-read: projected tokens rotate); disposed after use. */
      readonly jwt: () => Secret;
      /** Zero-fills what `jwt` copies from, at close. */
      readonly release?: () => void;
    };

interface Held {
  readonly token: Secret;
  /** Epoch ms: renew at the first use after this. */
  readonly renewAt: number;
  /** Epoch ms: log in again from here on. */
  readonly expiresAt: number;
  readonly renewable: boolean;
}

/** A token's times from the lease Vault gave it; a lease of 0 never expires (a root token). */
function heldOf(token: Secret, now: number, lease: number, renewable: boolean): Held {
  if (lease === 0) return { token, renewAt: Infinity, expiresAt: Infinity, renewable };
  return { token, renewAt: now + (lease * 1000) / 2, expiresAt: now + lease * 1000, renewable };
}

/** Waits for `work`, or refuses as unavailable as soon as `signal` aborts. */
function until<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new CredentialResolutionError(BackendReasons.unavailable));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class VaultSession {
  readonly #backend: string;
  readonly #http: VaultHttp;
  readonly #login: VaultLogin;
  readonly #clock: Clock;
  readonly #log: Logger;
  #held: Held | undefined;
  #pending: Promise<Held> | undefined;
  #closed = false;

  constructor(backend: string, http: VaultHttp, login: VaultLogin, clock: Clock, log: Logger) {
    this.#backend = backend;
    this.#http = http;
    this.#login = login;
    this.#clock = clock;
    this.#log = log;
  }

  /** A token to call Vault with, renewed or obtained anew when due. */
  async token(signal?: AbortSignal): Promise<Secret> {
    if (this.#closed) throw new CredentialResolutionError(BackendReasons.unavailable);
    const held = this.#held;
    if (held !== undefined && this.#clock.now() < held.renewAt) return held.token;
    this.#pending ??= this.#refresh(held).finally(() => (this.#pending = undefined));
    return (await until(this.#pending, signal)).token;
  }

  /** Vault refused `token` (403): the next call logs in again. */
  forget(token: Secret): void {
    if (this.#held?.token !== token) return;
    this.#held = undefined;
    token.dispose();
  }

  /** Revokes the token at Vault (best effort) and zero-fills what the session holds. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pending?.catch(() => undefined);
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined && this.#clock.now() < held.expiresAt) {
      const reply = await this.#http
        .call('POST', 'auth/token/revoke-self', { token: held.token })
        .catch(() => undefined);
      if (reply?.status !== 204 && reply?.status !== 200) {
        this.#log.warn(
          { backend: this.#backend, status: reply?.status },
          'vault token not revoked',
        );
      }
    }
    held?.token.dispose();
    if (this.#login.method === 'approle') this.#login.secretId.dispose();
    else this.#login.release?.();
  }

  async #refresh(held: Held | undefined): Promise<Held> {
    if (held !== undefined && held.renewable && this.#clock.now() < held.expiresAt) {
      const renewed = await this.#renew(held).catch(() => undefined);
      if (renewed !== undefined) return renewed;
      this.#log.warn({ backend: this.#backend }, 'vault token renewal failed; logging in again');
    }
    const fresh = await this.#logIn();
    if (this.#held !== undefined && this.#held !== fresh) this.#held.token.dispose();
    // Set even when closing: close() waits for this refresh, then revokes what it holds.
    this.#held = fresh;
    return fresh;
  }

  async #renew(held: Held): Promise<Held | undefined> {
    const started = this.#clock.now();
    const reply = await this.#http.call('POST', 'auth/token/renew-self', { token: held.token });
    const auth = objectField(reply.json, 'auth');
    const lease = secondsOf(auth?.['lease_duration']);
    if (reply.status !== 200 || lease === undefined || lease === 0) return undefined;
    // The same token, with a new lease.
    const renewed = heldOf(held.token, started, lease, auth?.['renewable'] === true);
    if (this.#held === held) this.#held = renewed;
    return renewed;
  }

  async #logIn(): Promise<Held> {
    const login = this.#login;
    const started = this.#clock.now();
    let reply;
    if (login.method === 'approle') {
      reply = await this.#http.call('POST', `auth/${login.mount}/login`, {
        body: [
          ['role_id', login.roleId],
          ['secret_id', login.secretId],
        ],
      });
    } else {
      const jwt = login.jwt();
      try {
        reply = await this.#http.call('POST', `auth/${login.mount}/login`, {
          body: [
            ['role', login.role],
            ['jwt', jwt],
          ],
        });
      } finally {
        jwt.dispose();
      }
    }
    const auth = objectField(reply.json, 'auth');
    const token = auth?.['client_token'];
    const lease = secondsOf(auth?.['lease_duration']);
    if (reply.status !== 200 || typeof token !== 'string' || token === '' || lease === undefined) {
      const reason = reply.status === 200 ? BackendReasons.failed : vaultReason(reply.status);
      this.#log.warn(
        { backend: this.#backend, status: reply.status, reason },
        'vault login failed',
      );
      throw new CredentialResolutionError(reason);
    }
    return heldOf(Secret.fromString(token), started, lease, auth?.['renewable'] === true);
  }
}
