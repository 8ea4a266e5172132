/**
 * The Vault double's token store and auth methods: AppRole and JWT login, and the token
 * self-service endpoints (lookup, renew, revoke). Tokens have a TTL, a max TTL, a
 * namespace and an entity; an expired, revoked or foreign token is a 403.
 * https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle
 * https://developer.hashicorp.com/vault/api-docs/auth/jwt#jwt-login
 * https://developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self
 * https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self
 * https://developer.hashicorp.com/vault/api-docs/auth/token#revoke-a-token-self
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import {
  type Answer,
  badRequest,
  durationSeconds,
  envelope,
  permissionDenied,
  stringParam,
  type VaultRequest,
} from './http.js';

export interface TokenInfo {
  readonly id: string;
  readonly accessor: string;
  readonly namespace: string;
  readonly entityId: string;
  readonly displayName: string;
  readonly path: string;
  readonly policies: string[];
  readonly ttl: number;
  readonly created: number;
  /** Epoch ms. */
  expiresAt: number;
  readonly maxExpiresAt: number;
  readonly renewable: boolean;
}

export interface AppRoleConfig {
  readonly roleName: string;
  readonly roleId: string;
  readonly secretId: string;
  /** token_ttl and token_max_ttl, seconds. */
  readonly tokenTtl: number;
  readonly tokenMaxTtl: number;
  readonly policies: string[];
}

export interface JwtRoleConfig {
  readonly role: string;
  readonly jwks: JSONWebKeySet;
  readonly boundAudiences: string[];
  readonly userClaim: string;
  readonly tokenTtl: number;
  readonly tokenMaxTtl: number;
  readonly policies: string[];
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A service token as Vault 1.10+ spells them: `hvs.` and random characters. */
function newToken(): string {
  return 'hvs.' + [...randomBytes(24)].map((b) => BASE62[b % 62]).join('');
}

export class TokenStore {
  readonly tokens = new Map<string, TokenInfo>();
  logins = 0;
  renewals = 0;

  constructor(private readonly now: () => number) {}

  issue(
    fields: Omit<TokenInfo, 'id' | 'accessor' | 'created' | 'expiresAt' | 'maxExpiresAt'> & {
      maxTtl: number;
    },
  ): TokenInfo {
    const now = this.now();
    const { maxTtl, ...rest } = fields;
    const info: TokenInfo = {
      ...rest,
      id: newToken(),
      accessor: randomBytes(12).toString('base64url'),
      created: now,
      expiresAt: now + fields.ttl * 1000,
      maxExpiresAt: now + maxTtl * 1000,
    };
    this.tokens.set(info.id, info);
    return info;
  }

  /** The live token a request carries in its namespace, or a 403. */
  check(req: VaultRequest): TokenInfo {
    const info = req.token === undefined ? undefined : this.tokens.get(req.token);
    if (info === undefined || info.namespace !== req.namespace) throw permissionDenied();
    if (info.expiresAt <= this.now()) {
      this.tokens.delete(info.id);
      throw permissionDenied();
    }
    return info;
  }

  authOf(info: TokenInfo, metadata: Record<string, string>): Answer {
    return envelope({
      auth: {
        client_token: info.id,
        accessor: info.accessor,
        policies: info.policies,
        token_policies: info.policies,
        metadata,
        lease_duration: Math.round((info.expiresAt - this.now()) / 1000),
        renewable: info.renewable,
        entity_id: info.entityId,
        token_type: 'service',
        orphan: true,
        mfa_requirement: null,
        num_uses: 0,
      },
    });
  }

  appRoleLogin(req: VaultRequest, role: AppRoleConfig): Answer {
    if (
      stringParam(req.body, 'role_id') !== role.roleId ||
      stringParam(req.body, 'secret_id') !== role.secretId
    ) {
      throw badRequest('invalid role or secret ID');
    }
    this.logins++;
    const info = this.issue({
      namespace: req.namespace,
      entityId: `entity-${role.roleName}`,
      displayName: `approle`,
      path: 'auth/approle/login',
      policies: ['default', ...role.policies],
      ttl: role.tokenTtl,
      maxTtl: role.tokenMaxTtl,
      renewable: true,
    });
    return this.authOf(info, { role_name: role.roleName });
  }

  async jwtLogin(req: VaultRequest, role: JwtRoleConfig): Promise<Answer> {
    if (stringParam(req.body, 'role') !== role.role)
      throw badRequest(`role "${role.role}" could not be found`);
    const jwt = stringParam(req.body, 'jwt');
    if (jwt === '') throw badRequest('missing token');
    let subject: unknown;
    try {
      const { payload } = await jwtVerify(jwt, createLocalJWKSet(role.jwks), {
        audience: role.boundAudiences,
        currentDate: new Date(this.now()),
      });
      subject = payload[role.userClaim];
    } catch {
      throw badRequest('error validating token: invalid signature, audience or expiry');
    }
    if (typeof subject !== 'string' || subject === '') {
      throw badRequest(`claim "${role.userClaim}" not found in token`);
    }
    this.logins++;
    const info = this.issue({
      namespace: req.namespace,
      entityId: `entity-jwt-${subject}`,
      displayName: `jwt-${subject}`,
      path: 'auth/jwt/login',
      policies: ['default', ...role.policies],
      ttl: role.tokenTtl,
      maxTtl: role.tokenMaxTtl,
      renewable: true,
    });
    return this.authOf(info, { role: role.role });
  }

  lookupSelf(req: VaultRequest): Answer {
    const info = this.check(req);
    const iso = (ms: number) => new Date(ms).toISOString();
    return envelope({
      data: {
        accessor: info.accessor,
        creation_time: Math.floor(info.created / 1000),
        creation_ttl: info.ttl,
        display_name: info.displayName,
        entity_id: info.entityId,
        expire_time: iso(info.expiresAt),
        explicit_max_ttl: 0,
        id: info.id,
        issue_time: iso(info.created),
        meta: null,
        num_uses: 0,
        orphan: true,
        path: info.path,
        policies: info.policies,
        renewable: info.renewable,
        ttl: Math.round((info.expiresAt - this.now()) / 1000),
        type: 'service',
      },
    });
  }

  /** A token's TTL starts again, by `increment` or its own TTL, never past its max TTL. */
  renewSelf(req: VaultRequest): Answer {
    const info = this.check(req);
    if (!info.renewable) throw badRequest('lease is not renewable');
    const increment = durationSeconds(req.body['increment']) ?? info.ttl;
    info.expiresAt = Math.min(this.now() + increment * 1000, info.maxExpiresAt);
    this.renewals++;
    return this.authOf(info, {});
  }

  revokeSelf(req: VaultRequest): Answer {
    const info = this.check(req);
    this.tokens.delete(info.id);
    return { empty: true };
  }

  /** A fresh id for things the double names (entities, clients). */
  static id(): string {
    return randomUUID();
  }
}
