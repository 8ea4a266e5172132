/**
 * A protocol-faithful double of HashiCorp Vault (and OpenBao, which serves the same API),
 * for tests: no Vault can run here (OpenBao's module is refused by the Go proxy; Vault
 * cannot be built from it). It serves just the documented endpoints Bastion uses, as the
 * API docs describe them, on 127.0.0.1 (http, or https with a self-signed certificate):
 * `sys/health`, AppRole and JWT login, the token self-service endpoints, the SSH engine's
 * sign and public key, identity tokens and their keys, a leased dynamic secret (the Consul
 * engine's `creds`), and lease lookup and revocation. The official Python client (hvac)
 * drives it in test/backends/vault-double-hvac.test.ts, so it cannot drift into a dialect
 * only Bastion speaks. Faults are a test's to inject: `intercept` answers a request
 * instead, and `ssh.tamper` changes a certificate before it is signed.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { selfSignedCertificate } from '../../helpers/oauth-as.js';
import { type AppRoleConfig, type JwtRoleConfig, TokenStore } from './auth.js';
import {
  IdentityEngine,
  type IdentityRoleConfig,
  LeaseEngine,
  SshEngine,
  type SshRoleConfig,
} from './engines.js';
import {
  type Answer,
  envelope,
  notFound,
  readRequest,
  send,
  VaultError,
  type VaultRequest,
} from './http.js';

/**
 * A role as the README says to configure one for Bastion's bound certificates: no default
 * extensions (Vault gives them to a request that asks for none) and both critical options.
 */
export const BOUND_SSH_ROLE = {
  defaultExtensions: {},
  allowedCriticalOptions: 'force-command,source-address',
} as const;

export interface VaultDoubleOptions {
  /** Epoch ms; default Date.now. Tokens, certificates and leases are timed by it. */
  readonly now?: () => number;
  readonly tls?: boolean;
  /** When set, every route but `sys/health` lives in this namespace only. */
  readonly namespace?: string;
  readonly approle?: Partial<Omit<AppRoleConfig, 'secretId'>>;
  readonly jwt?: Partial<JwtRoleConfig> & Pick<JwtRoleConfig, 'jwks' | 'boundAudiences'>;
  readonly sshMount?: string;
  readonly sshRoles?: Record<string, Partial<SshRoleConfig> & Pick<SshRoleConfig, 'allowedUsers'>>;
  readonly identityRoles?: Record<string, IdentityRoleConfig>;
  readonly consulRoles?: Record<string, { ttl: number }>;
}

/** A request the double saw: never a token, only whether there was one. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly namespace: string;
  readonly withToken: boolean;
  readonly vaultRequestHeader: boolean;
}

export interface VaultDouble {
  readonly address: string;
  readonly certPem?: string | undefined;
  readonly roleId: string;
  readonly secretId: string;
  readonly auth: TokenStore;
  readonly ssh: SshEngine;
  readonly identity: IdentityEngine;
  readonly leases: LeaseEngine;
  readonly seen: SeenRequest[];
  /** Answer a request in the test's own way (a fault); undefined lets the double answer. */
  intercept: ((req: SeenRequest, res: ServerResponse) => boolean) | undefined;
  jwks(): JSONWebKeySet;
  close(): Promise<void>;
}

export async function startVaultDouble(options: VaultDoubleOptions = {}): Promise<VaultDouble> {
  const now = options.now ?? Date.now;
  const tls = options.tls === true ? selfSignedCertificate() : undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const server: Server =
    tls !== undefined
      ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, handler)
      : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `${tls !== undefined ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const approle: AppRoleConfig = {
    roleName: 'bastion',
    roleId: randomBytes(16).toString('hex'),
    tokenTtl: 1200,
    tokenMaxTtl: 7200,
    policies: ['bastion'],
    ...options.approle,
    secretId: randomBytes(16).toString('hex'),
  };
  const jwtRole: JwtRoleConfig | undefined =
    options.jwt === undefined
      ? undefined
      : {
          role: 'bastion',
          userClaim: 'sub',
          tokenTtl: 1200,
          tokenMaxTtl: 7200,
          policies: ['bastion'],
          ...options.jwt,
        };
  const sshMount = options.sshMount ?? 'ssh-client-signer';
  const sshRoles = Object.fromEntries(
    Object.entries(options.sshRoles ?? {}).map(([name, r]) => [
      name,
      {
        ttl: 300,
        maxTtl: 600,
        defaultExtensions: { 'permit-pty': '' },
        allowedExtensions: '',
        allowUserKeyIds: true,
        notBeforeDuration: 30,
        ...r,
      },
    ]),
  );
  const auth = new TokenStore(now);
  const ssh = new SshEngine(sshRoles, now);
  const identity = new IdentityEngine(
    options.identityRoles ?? {},
    `${address}/v1/identity/oidc`,
    now,
  );
  const leases = new LeaseEngine(options.consulRoles ?? {}, 'consul', now);
  const namespace = options.namespace ?? '';
  const seen: SeenRequest[] = [];

  const route = async (req: VaultRequest): Promise<Answer> => {
    const { method, path } = req;
    if (path === 'sys/health' && method === 'GET') {
      return {
        json: {
          initialized: true,
          sealed: false,
          standby: false,
          performance_standby: false,
          replication_performance_mode: 'disabled',
          replication_dr_mode: 'disabled',
          server_time_utc: Math.floor(now() / 1000),
          version: '1.15.6',
          cluster_name: 'vault-double',
          cluster_id: 'vault-double',
        },
      };
    }
    // Every other route is mounted in the configured namespace only.
    if (req.namespace !== namespace) throw notFound(path);
    if (method === 'GET' && path === 'identity/oidc/.well-known/keys')
      return { json: identity.keys() };
    if (method === 'GET' && path === 'identity/oidc/.well-known/openid-configuration') {
      return {
        json: {
          issuer: identity.issuer,
          jwks_uri: `${identity.issuer}/.well-known/keys`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['EdDSA'],
        },
      };
    }
    if (method === 'GET' && path === `${sshMount}/public_key`)
      return { text: `${ssh.caPublicKey}\n` };
    if (method === 'POST' && path === 'auth/approle/login') return auth.appRoleLogin(req, approle);
    if (method === 'POST' && path === 'auth/jwt/login' && jwtRole !== undefined)
      return auth.jwtLogin(req, jwtRole);
    if (method === 'GET' && path === 'auth/token/lookup-self') return auth.lookupSelf(req);
    if (method === 'POST' && path === 'auth/token/renew-self') return auth.renewSelf(req);
    if (method === 'POST' && path === 'auth/token/revoke-self') return auth.revokeSelf(req);
    // Everything below needs a token.
    const token = auth.check(req);
    const sign = new RegExp(`^${sshMount}/sign/([^/]+)$`).exec(path);
    if (method === 'POST' && sign?.[1] !== undefined) return ssh.sign(req, sign[1], token);
    if (method === 'GET' && path === `${sshMount}/config/ca`)
      return envelope({ data: { public_key: ssh.caPublicKey } });
    const oidc = /^identity\/oidc\/token\/([^/]+)$/.exec(path);
    if (method === 'GET' && oidc?.[1] !== undefined) return identity.token(oidc[1], token);
    const creds = /^consul\/creds\/([^/]+)$/.exec(path);
    if (method === 'GET' && creds?.[1] !== undefined) return leases.creds(creds[1]);
    if (method === 'POST' && path === 'sys/leases/lookup') return leases.lookup(req);
    if (method === 'POST' && path === 'sys/leases/revoke') return leases.revoke(req);
    throw notFound(path);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const parsed = await readRequest(req);
      const entry: SeenRequest = {
        method: parsed.method,
        path: parsed.path,
        namespace: parsed.namespace,
        withToken: parsed.token !== undefined,
        vaultRequestHeader: req.headers['x-vault-request'] === 'true',
      };
      seen.push(entry);
      if (double.intercept?.(entry, res) === true) return;
      send(res, await route(parsed));
    } catch (err) {
      send(res, err instanceof VaultError ? err : new VaultError(500, ['internal error']));
    }
  }

  const double: VaultDouble = {
    address,
    certPem: tls?.certPem,
    roleId: approle.roleId,
    secretId: approle.secretId,
    auth,
    ssh,
    identity,
    leases,
    seen,
    intercept: undefined,
    jwks: () => identity.keys(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return double;
}
