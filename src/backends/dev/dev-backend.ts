/**
 * The `dev` backend: the embedded default and the test backend. Its SSH CA and JWT signing
 * keys are generated in memory at construction and never written anywhere; restarting the
 * process rotates them. It issues
 * - `ssh_cert`: a fresh Ed25519 key pair per call and an OpenSSH user certificate for the
 *   AC's SSH principals, valid from now − skew to now + TTL, bound as asked (the forced
 *   command, the source addresses, no extensions: credentials/binding.ts);
 * - `oauth`: an RFC 9068-style JWT access token (EdDSA) whose audience is the target.
 * Not for production: anyone who can run code in the broker process holds its CA.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';
import { type Clock, systemClock } from '../../base/clock.js';
import type { CredentialBackend } from '../../credentials/backend.js';
import { type CredentialBinding, sshCertificateBinding } from '../../credentials/binding.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import {
  OPENSSH_DEFAULT_EXTENSIONS,
  signUserCertificate,
  SSH_LOGIN_PATTERN,
} from '../../ssh/certificate.js';
import { ed25519PublicBlob, ed25519PublicKeyLine, rawEd25519PublicKey } from '../../ssh/ed25519.js';
import { ephemeralEd25519Key } from '../../ssh/ephemeral-key.js';
import { publicRandomU64 } from '../../ssh/public-random.js';
import { DEFAULT_MAX_TTL_MS, DEFAULT_SKEW_MS } from '../../credentials/resolver.js';
import { Secret } from '../../credentials/secret.js';
import type {
  AcContext,
  Credential,
  CredentialOf,
  CredentialType,
  OAuthCredential,
  SshCertCredential,
} from '../../credentials/types.js';
import { ConfigError } from '../../base/errors.js';
import { oauthCredential } from '../oauth/credential.js';
import { guardResolve, type ResolveGuard } from '../resolve-guard.js';

export interface DevBackendOptions {
  id?: string;
  clock?: Clock;
  /** Lifetime of issued credentials; default 5 minutes. */
  ttlMs?: number;
  /** How far certificates' valid-after is backdated; default the resolver's skew (30 s). */
  skewMs?: number;
  /** Extensions of a certificate asked for without a binding; default OpenSSH's defaults. */
  extensions?: readonly string[];
  /** `iss` of issued tokens. */
  issuer?: string;
  /**
   * Test and demo aid: a string put inside every credential's secret bytes (the private
   * key's comment, a token claim), so a leak scan can look for it. Never needed otherwise.
   */
  marker?: string | undefined;
}

export interface JsonWebKeySet {
  keys: JWK[];
}

export class DevBackend implements CredentialBackend {
  readonly id: string;
  readonly supportedTypes = ['ssh_cert', 'oauth'] as const;
  /** Any target; an already-aborted signal is refused first, as `backend_unavailable`. */
  readonly #guard: ResolveGuard = {
    types: this.supportedTypes,
    aborted: { reason: BackendReasons.unavailable, when: 'first' },
  };
  readonly issuer: string;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #skewMs: number;
  readonly #extensions: readonly string[];
  readonly #marker: string | undefined;
  readonly #caKey: KeyObject;
  readonly #caPublicLine: string;
  readonly #caPublicBlob: Buffer;
  readonly #jwtKey: KeyObject;
  readonly #jwk: JWK;
  /** Revoked ids until their natural expiry, for `isRevoked`. */
  readonly #revoked = new Map<string, number>();

  private constructor(options: DevBackendOptions, jwk: JWK, jwtKey: KeyObject) {
    this.id = options.id ?? 'dev';
    this.issuer = options.issuer ?? 'urn:bastion:dev';
    this.#clock = options.clock ?? systemClock;
    this.#ttlMs = options.ttlMs ?? DEFAULT_MAX_TTL_MS;
    if (!(this.#ttlMs >= 1000 && this.#ttlMs <= DEFAULT_MAX_TTL_MS * 3)) {
      throw new ConfigError('dev.ttlMs', 'must be from 1 s to 15 min');
    }
    this.#skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
    this.#extensions = options.extensions ?? OPENSSH_DEFAULT_EXTENSIONS;
    this.#marker = options.marker;
    this.#caKey = generateKeyPairSync('ed25519').privateKey;
    const caPublic = rawEd25519PublicKey(this.#caKey);
    this.#caPublicBlob = ed25519PublicBlob(caPublic);
    this.#caPublicLine = ed25519PublicKeyLine(caPublic, `${this.id}-ca`);
    this.#jwtKey = jwtKey;
    this.#jwk = jwk;
  }

  /** Async because the JWK thumbprint (the `kid`) is computed with jose's async API. */
  static async create(options: DevBackendOptions = {}): Promise<DevBackend> {
    const { privateKey } = generateKeyPairSync('ed25519');
    // Export only the public half: a private JWK would put the key into a JS string.
    const { crv, x } = createPublicKey(privateKey).export({ format: 'jwk' });
    const publicJwk: JWK = { kty: 'OKP', crv: crv ?? 'Ed25519', x: x ?? '' };
    const kid = await calculateJwkThumbprint(publicJwk);
    return new DevBackend(options, { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }, privateKey);
  }

  /** The CA public key line for sshd's TrustedUserCAKeys. */
  caPublicKey(): string {
    return this.#caPublicLine;
  }

  /** The public keys that verify issued tokens. */
  jwks(): JsonWebKeySet {
    return { keys: [{ ...this.#jwk }] };
  }

  isRevoked(id: string): boolean {
    const until = this.#revoked.get(id);
    return until !== undefined && until > this.#clock.now();
  }

  async resolve<T extends CredentialType>(
    type: T,
    target: string,
    acContext: AcContext,
    signal?: AbortSignal,
    binding?: CredentialBinding,
  ): Promise<CredentialOf<T>> {
    guardResolve(this.#guard, type, target, acContext, signal);
    if (type === 'ssh_cert') return this.#sshCert(target, acContext, binding) as CredentialOf<T>;
    return (await this.#oauth(target, acContext)) as CredentialOf<T>;
  }

  revoke(credential: Credential): Promise<void> {
    if (credential.id !== undefined) {
      const now = this.#clock.now();
      // Entries go in with a fixed TTL, so in insertion order: stop at the first live one
      // (a full sweep per revoke was O(n) and showed in the benchmark).
      for (const [id, until] of this.#revoked) {
        if (until > now) break;
        this.#revoked.delete(id);
      }
      this.#revoked.set(credential.id, credential.expiresAt.getTime());
    }
    return Promise.resolve();
  }

  #sshCert(target: string, ac: AcContext, binding?: CredentialBinding): SshCertCredential {
    const principals = ac.ssh_principals ?? [];
    if (principals.length === 0 || !principals.every((p) => SSH_LOGIN_PATTERN.test(p))) {
      throw new CredentialResolutionError(BackendReasons.invalidRequest);
    }
    const now = this.#clock.now();
    const validAfter = Math.floor((now - this.#skewMs) / 1000);
    const validBefore = Math.floor((now + this.#ttlMs) / 1000);
    const serial = publicRandomU64();

    const comment =
      this.#marker === undefined ? 'bastion-ephemeral' : `bastion-ephemeral ${this.#marker}`;
    const key = ephemeralEd25519Key(comment);
    const bound = sshCertificateBinding(binding);
    const certificate = signUserCertificate({
      caPrivateKey: this.#caKey,
      caPublicBlob: this.#caPublicBlob,
      userPublicKey32: key.publicKey32,
      serial,
      keyId: `bastion:${this.id} ac=${ac.ac_id} sub=${ac.principal_did}`.slice(0, 256),
      principals,
      validAfter,
      validBefore,
      extensions: bound?.extensions ?? this.#extensions,
      ...(bound !== undefined ? { criticalOptions: bound.criticalOptions } : {}),
    });

    return {
      type: 'ssh_cert',
      target,
      certificate,
      privateKey: Secret.adopt(key.pem),
      principals: [...principals],
      notBefore: new Date(validAfter * 1000),
      expiresAt: new Date(validBefore * 1000),
      scopedTo: `ssh as ${principals.join(',')} on ${target}`,
      issuedBy: this.id,
      id: serial.toString(),
    };
  }

  async #oauth(target: string, ac: AcContext): Promise<OAuthCredential> {
    const now = this.#clock.now();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor((now + this.#ttlMs) / 1000);
    const jti = randomUUID();
    const scope = [...ac.capabilities];
    const token = await new SignJWT({
      scope: scope.join(' '),
      client_id: `bastion-${this.id}`,
      ac_id: ac.ac_id,
      ...(this.#marker !== undefined ? { marker: this.#marker } : {}),
    })
      .setProtectedHeader({
        alg: 'EdDSA',
        typ: 'at+jwt',
        ...(this.#jwk.kid ? { kid: this.#jwk.kid } : {}),
      })
      .setIssuer(this.issuer)
      .setSubject(ac.principal_did)
      .setAudience(target)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(this.#jwtKey);
    return oauthCredential({
      target,
      accessToken: Secret.fromString(token),
      scope,
      notBefore: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
      issuedBy: this.id,
      id: jti,
    });
  }
}
