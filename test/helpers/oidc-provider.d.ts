/**
 * oidc-provider 8.x ships no types (and @types/oidc-provider follows 9.x): the part of its
 * API the test authorization server uses, typed just enough for strict mode.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface OidcClient {
    readonly clientId: string;
    readonly clientAuthMethod: string;
  }

  export interface OidcContext {
    readonly params: Readonly<Record<string, string | undefined>>;
    readonly client: OidcClient;
  }

  export interface KoaContextWithOIDC {
    readonly oidc: OidcContext;
    body: unknown;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'jwt' | 'opaque';
    jwt?: { sign?: { alg: string } };
  }

  export interface ResourceServer {
    readonly audience?: string;
    readonly scope: string;
  }

  export interface AccessToken {
    resourceServer?: ResourceServer;
    /** Seconds left until expiry. */
    readonly expiration: number;
    readonly jti: string;
    /** `Bearer`, or `DPoP` once a `jkt` thumbprint is set. */
    readonly tokenType: string;
    /** Binds the token to a key (`jkt`, RFC 9449) or a certificate (`x5t`). */
    setThumbprint(prop: 'jkt', thumbprint: string): void;
    save(): Promise<string>;
  }

  export interface Grant {
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export type Adapter = new (name: string) => {
    upsert(id: string, payload: object, expiresIn: number): Promise<void>;
    find(id: string): Promise<object | undefined>;
    findByUserCode(code: string): Promise<object | undefined>;
    findByUid(uid: string): Promise<object | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  };

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    readonly AccessToken: new (fields: {
      accountId: string;
      client: OidcClient;
      grantId: string;
      gty: string;
      scope: string;
      resourceServer?: ResourceServer;
      /** Seconds; otherwise the configured `ttl.AccessToken`. */
      expiresIn?: number;
    }) => AccessToken;
    readonly Grant: new (fields: { accountId: string; clientId: string }) => Grant;
    readonly ResourceServer: new (identifier: string, info: ResourceServerInfo) => ResourceServer;
    registerGrantType(
      name: string,
      handler: (ctx: KoaContextWithOIDC) => Promise<void>,
      params?: readonly string[],
    ): void;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }

  type OAuthErrorClass = new (description?: string) => Error;
  export const errors: {
    readonly InvalidGrant: OAuthErrorClass;
    readonly InvalidRequest: OAuthErrorClass;
    readonly InvalidScope: OAuthErrorClass;
    readonly InvalidTarget: OAuthErrorClass;
  };
}

/** oidc-provider's own DPoP proof check (the token endpoint's), as its built-in grants use it. */
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  /** undefined when the request carries no `DPoP` header; throws `invalid_dpop_proof`. */
  export default function validateDpop(
    ctx: KoaContextWithOIDC,
  ): Promise<{ thumbprint: string; jti: string; iat: number } | undefined>;
}
