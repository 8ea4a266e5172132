/**
 * The Vault double's secrets engines: the SSH engine's CA signing (a real Ed25519 CA,
 * certificates made by src/ssh/certificate.ts and checked by ssh-keygen and sshd in the
 * tests), identity tokens and their JWKS, and a dynamic secret with a lease (the Consul
 * engine's shape: a bearer token per read) with Vault's lease bookkeeping.
 * https://developer.hashicorp.com/vault/api-docs/secret/ssh#sign-ssh-key
 * https://developer.hashicorp.com/vault/api-docs/secret/ssh#read-public-key-unauthenticated
 * https://developer.hashicorp.com/vault/api-docs/secret/identity/tokens#generate-a-signed-id-token
 * https://developer.hashicorp.com/vault/api-docs/secret/identity/tokens#read-active-public-keys
 * https://developer.hashicorp.com/vault/api-docs/secret/consul#generate-credential
 * https://developer.hashicorp.com/vault/api-docs/system/leases#read-lease
 * https://developer.hashicorp.com/vault/api-docs/system/leases#revoke-lease
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { type JSONWebKeySet, SignJWT } from 'jose';
import { signUserCertificate } from '../../../src/ssh/certificate.js';
import {
  ED25519,
  ed25519PublicBlob,
  ed25519PublicKeyLine,
  rawEd25519PublicKey,
} from '../../../src/ssh/ed25519.js';
import { Reader } from '../../../src/ssh/wire.js';
import type { TokenInfo } from './auth.js';
import {
  type Answer,
  badRequest,
  durationSeconds,
  envelope,
  stringParam,
  type VaultRequest,
} from './http.js';

export interface SshRoleConfig {
  readonly allowedUsers: string[];
  readonly defaultUser?: string;
  /** Seconds. */
  readonly ttl: number;
  readonly maxTtl: number;
  readonly defaultExtensions: Record<string, string>;
  /** Comma-separated; "" allows none to be asked for, "*" any. */
  readonly allowedExtensions: string;
  /** Given when a request asks for no critical option. */
  readonly defaultCriticalOptions?: Record<string, string>;
  /** Comma-separated; "" (Vault's default) allows any to be asked for. */
  readonly allowedCriticalOptions?: string;
  readonly allowUserKeyIds: boolean;
  readonly notBeforeDuration: number;
}

/** What the double is about to sign; a test may change it (a faulty or hostile Vault). */
export interface CertificateDraft {
  publicKey32: Buffer;
  principals: string[];
  keyId: string;
  validAfter: number;
  validBefore: number;
  criticalOptions: Record<string, string>;
  extensions: string[];
}

export class SshEngine {
  readonly #ca: KeyObject = generateKeyPairSync('ed25519').privateKey;
  readonly #caBlob = ed25519PublicBlob(rawEd25519PublicKey(this.#ca));
  readonly caPublicKey = ed25519PublicKeyLine(rawEd25519PublicKey(this.#ca), 'vault-double-ssh-ca');
  /** Set by a test to alter the next certificates before they are signed. */
  tamper: ((draft: CertificateDraft) => void) | undefined;
  signed = 0;
  /** Every certificate signed, as signed. */
  readonly drafts: CertificateDraft[] = [];
  /** The maps each signing request carried, as sent (absent: undefined). */
  readonly asked: { critical_options: unknown; extensions: unknown }[] = [];

  constructor(
    private readonly roles: Record<string, SshRoleConfig>,
    private readonly now: () => number,
  ) {}

  sign(req: VaultRequest, roleName: string, token: TokenInfo): Answer {
    const role = this.roles[roleName];
    if (role === undefined) throw badRequest(`Unknown role: ${roleName}`);
    const publicKey = stringParam(req.body, 'public_key');
    if (publicKey === '') throw badRequest('missing public_key');
    const publicKey32 = parseEd25519PublicKey(publicKey);
    const certType = stringParam(req.body, 'cert_type') || 'user';
    if (certType !== 'user') throw badRequest('cert_type must be either user or host');
    const asked = stringParam(req.body, 'valid_principals');
    const principals =
      asked === ''
        ? role.defaultUser !== undefined
          ? [role.defaultUser]
          : []
        : asked.split(',').map((p) => p.trim());
    if (principals.length === 0) throw badRequest('empty valid principals not allowed by role');
    for (const p of principals) {
      if (!role.allowedUsers.includes('*') && !role.allowedUsers.includes(p)) {
        throw badRequest(`${p} is not a valid value for valid_principals`);
      }
    }
    const askedTtl = durationSeconds(req.body['ttl']);
    if (askedTtl !== undefined && askedTtl > role.maxTtl) {
      throw badRequest(`ttl is larger than maximum allowed (${role.maxTtl})`);
    }
    const ttl = askedTtl ?? Math.min(role.ttl, role.maxTtl);
    const askedKeyId = stringParam(req.body, 'key_id');
    if (askedKeyId !== '' && !role.allowUserKeyIds)
      throw badRequest('setting key_id is not allowed by role');
    const keyHash = createHash('sha256').update(ed25519PublicBlob(publicKey32)).digest('hex');
    const keyId = askedKeyId || `vault-${token.displayName}-${keyHash}`;
    this.asked.push({
      critical_options: req.body['critical_options'],
      extensions: req.body['extensions'],
    });
    const criticalOptions = this.#criticalOptions(req.body['critical_options'], role);
    const extensions = this.#extensions(req.body['extensions'], role);
    const now = Math.floor(this.now() / 1000);
    const draft: CertificateDraft = {
      publicKey32,
      principals,
      keyId,
      validAfter: now - role.notBeforeDuration,
      validBefore: now + ttl,
      criticalOptions,
      extensions,
    };
    this.tamper?.(draft);
    const serial = randomBytes(8).readBigUInt64BE();
    const certificate = signUserCertificate({
      caPrivateKey: this.#ca,
      caPublicBlob: this.#caBlob,
      userPublicKey32: draft.publicKey32,
      serial,
      keyId: draft.keyId,
      principals: draft.principals,
      validAfter: draft.validAfter,
      validBefore: draft.validBefore,
      extensions: draft.extensions,
      criticalOptions: draft.criticalOptions,
    });
    this.signed++;
    this.drafts.push(draft);
    return envelope({
      data: { serial_number: serial.toString(16), signed_key: `${certificate}\n` },
    });
  }

  /**
   * Vault's calculateCriticalOptions: none asked (absent, null or `{}`), the role's defaults;
   * else each must be on the role's allowed list, unless that list is empty (any allowed).
   */
  #criticalOptions(asked: unknown, role: SshRoleConfig): Record<string, string> {
    const defaults = { ...(role.defaultCriticalOptions ?? {}) };
    if (asked === undefined || asked === null) return defaults;
    const options = stringMap(asked, 'critical_options');
    const names = Object.keys(options);
    if (names.length === 0) return defaults;
    const allowedList = role.allowedCriticalOptions ?? '';
    if (allowedList !== '') {
      const allowed = allowedList.split(',');
      const refused = names.filter((n) => !allowed.includes(n));
      if (refused.length > 0) {
        throw badRequest(`critical options not on allowed list: [${refused.join(' ')}]`);
      }
    }
    return options;
  }

  /** Asked-for extensions must be allowed by the role; none asked: the role's defaults. */
  #extensions(asked: unknown, role: SshRoleConfig): string[] {
    if (asked === undefined || asked === null) return Object.keys(role.defaultExtensions);
    if (typeof asked !== 'object' || Array.isArray(asked)) throw badRequest('invalid extensions');
    const names = Object.keys(asked);
    if (names.length === 0) return Object.keys(role.defaultExtensions);
    const allowed = role.allowedExtensions.split(',').map((e) => e.trim());
    for (const name of names) {
      if (!allowed.includes('*') && !allowed.includes(name)) {
        throw badRequest(`extensions [${name}] are not on allowed list`);
      }
    }
    return names;
  }
}

/** A JSON object as Vault's `map` fields take it, each value as its text (convertMapToStringValue). */
function stringMap(value: unknown, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`invalid ${field}`);
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null) throw badRequest(`invalid ${field}`);
    out[name] = String(v);
  }
  return out;
}

function parseEd25519PublicKey(line: string): Buffer {
  try {
    const [type, b64] = line.trim().split(/\s+/);
    if (type !== ED25519 || b64 === undefined) throw new Error();
    const r = new Reader(Buffer.from(b64, 'base64'));
    if (r.text() !== ED25519) throw new Error();
    const key = Buffer.from(r.bytes());
    if (key.byteLength !== 32 || !r.done) throw new Error();
    return key;
  } catch {
    throw badRequest('failed to parse public_key as SSH key');
  }
}

export interface IdentityRoleConfig {
  /** Seconds. */
  readonly ttl: number;
  /** The role's template, rendered: extra claims. */
  readonly claims?: Record<string, unknown>;
}

export class IdentityEngine {
  readonly #key = generateKeyPairSync('ed25519');
  readonly #kid = randomUUID();
  readonly clientIds = new Map<string, string>();
  issued = 0;

  constructor(
    private readonly roles: Record<string, IdentityRoleConfig>,
    readonly issuer: string,
    private readonly now: () => number,
  ) {
    for (const name of Object.keys(roles))
      this.clientIds.set(name, randomBytes(13).toString('base64url'));
  }

  async token(roleName: string, token: TokenInfo): Promise<Answer> {
    const role = this.roles[roleName];
    const clientId = this.clientIds.get(roleName);
    if (role === undefined || clientId === undefined)
      throw badRequest(`role "${roleName}" not found`);
    const iat = Math.floor(this.now() / 1000);
    const jwt = await new SignJWT({ namespace: token.namespace || 'root', ...(role.claims ?? {}) })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.#kid })
      .setIssuer(this.issuer)
      .setSubject(token.entityId)
      .setAudience(clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + role.ttl)
      .sign(this.#key.privateKey);
    this.issued++;
    return envelope({ data: { client_id: clientId, token: jwt, ttl: role.ttl } });
  }

  /** `.well-known/keys`: a bare JWKS, not in Vault's envelope. */
  keys(): JSONWebKeySet {
    const { crv, x } = createPublicKey(this.#key.privateKey).export({ format: 'jwk' });
    return {
      keys: [
        { kty: 'OKP', crv: crv ?? 'Ed25519', x: x ?? '', kid: this.#kid, alg: 'EdDSA', use: 'sig' },
      ],
    };
  }
}

export interface Lease {
  readonly id: string;
  readonly issued: number;
  readonly expiresAt: number;
  readonly renewable: boolean;
  /** The bearer token the lease stands for. */
  readonly secret: string;
}

export class LeaseEngine {
  readonly leases = new Map<string, Lease>();
  revoked: string[] = [];

  constructor(
    private readonly roles: Record<string, { ttl: number }>,
    private readonly mount: string,
    private readonly now: () => number,
  ) {}

  /** A Consul-engine style credential: a token, an accessor, a lease. */
  creds(roleName: string): Answer {
    const role = this.roles[roleName];
    if (role === undefined) throw badRequest(`role "${roleName}" not found`);
    const id = `${this.mount}/creds/${roleName}/${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
    const secret = randomUUID();
    const now = this.now();
    this.leases.set(id, {
      id,
      issued: now,
      expiresAt: now + role.ttl * 1000,
      renewable: true,
      secret,
    });
    return envelope({
      lease_id: id,
      lease_duration: role.ttl,
      renewable: true,
      data: {
        token: secret,
        accessor: randomUUID(),
        local: false,
        consul_namespace: '',
        partition: '',
      },
    });
  }

  #live(id: string): Lease {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.expiresAt <= this.now()) throw badRequest('invalid lease');
    return lease;
  }

  lookup(req: VaultRequest): Answer {
    const lease = this.#live(stringParam(req.body, 'lease_id'));
    const iso = (ms: number) => new Date(ms).toISOString();
    return envelope({
      data: {
        id: lease.id,
        issue_time: iso(lease.issued),
        expire_time: iso(lease.expiresAt),
        last_renewal: null,
        renewable: lease.renewable,
        ttl: Math.round((lease.expiresAt - this.now()) / 1000),
      },
    });
  }

  /** Revoking a lease that is gone succeeds, as in Vault. */
  revoke(req: VaultRequest): Answer {
    const id = stringParam(req.body, 'lease_id');
    if (id === '') throw badRequest('missing lease_id');
    if (this.leases.delete(id)) this.revoked.push(id);
    return { empty: true };
  }

  /** Whether `token` is the secret of a live lease: what the API behind the engine checks. */
  isLive(token: string): boolean {
    return [...this.leases.values()].some((l) => l.secret === token && l.expiresAt > this.now());
  }
}
