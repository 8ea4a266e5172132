/**
 * `kind: vault`: HashiCorp Vault or OpenBao. SSH certificates from the SSH secrets engine
 * (credential `ssh_cert`), and per target an identity token or a leased dynamic secret
 * (credential `oauth`); the broker logs in with AppRole or JWT auth. Its settings:
 *
 *   address, namespace?, tls_ca_file?, timeout?,
 *   auth: { approle: { role_id, secret_id_env, mount? } }
 *       | { jwt: { role, jwt_env | jwt_file, mount? } },
 *   ssh?: { mount, role, targets?, ttl? },
 *   tokens?: { <target URL>: { identity_role } | { lease_path, token_field } }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../base/errors.js';
import {
  backendId,
  type ConfigContext,
  duration,
  endpointUrl,
  envName,
  filePath,
} from '../../base/fields.js';
import { Secret } from '../../credentials/secret.js';
import { targetPatternField } from '../../governance/target-field.js';
import { canonicalTarget } from '../../governance/targets.js';
import { readSettingsFile } from '../oauth/client-auth.js';
import { type BackendDeps, defineBackendPlugin } from '../plugin.js';
import type { VaultLogin } from './session.js';
import type { TokenSource } from './tokens.js';
import { VaultBackend } from './vault-backend.js';

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** A mount or API path inside Vault: segments of [A-Za-z0-9_.-], no `.` or `..` segment. */
const PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+){0,15}$/;

const name = z
  .string({ error: 'must be a name' })
  .regex(NAME, { error: 'must be a name ([A-Za-z0-9_.-])' });
const path = z.string({ error: 'must be a Vault path' }).regex(PATH, {
  error: 'must be a Vault path (segments of [A-Za-z0-9_.-] separated by /)',
});

const targetPattern = targetPatternField('must be a target pattern, as in accords');

const tokenSource = z.union(
  [
    z.strictObject({ identity_role: name }),
    z.strictObject({ lease_path: path, token_field: name }),
  ],
  { error: 'must be { identity_role } or { lease_path, token_field }' },
);

const tokens = z
  .record(z.string(), tokenSource, { error: 'must be a mapping of target URLs' })
  .transform((record, ctx): ReadonlyMap<string, TokenSource> => {
    const map = new Map<string, TokenSource>();
    for (const [target, source] of Object.entries(record)) {
      let key: string;
      try {
        key = canonicalTarget(target);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'keys must be targets (URLs)' });
        return z.NEVER;
      }
      map.set(
        key,
        'identity_role' in source
          ? { identityRole: source.identity_role }
          : { leasePath: source.lease_path, tokenField: source.token_field },
      );
    }
    return map;
  });

const auth = (ctx: ConfigContext) =>
  z
    .strictObject(
      {
        approle: z
          .strictObject({ role_id: name, secret_id_env: envName, mount: path.default('approle') })
          .optional(),
        jwt: z
          .strictObject({
            role: name,
            jwt_env: envName.optional(),
            jwt_file: filePath(ctx).optional(),
            mount: path.default('jwt'),
          })
          .refine((j) => (j.jwt_env === undefined) !== (j.jwt_file === undefined), {
            error: 'must name exactly one of jwt_env and jwt_file',
          })
          .optional(),
      },
      { error: 'must be a mapping' },
    )
    .refine((a) => (a.approle === undefined) !== (a.jwt === undefined), {
      error: 'must be exactly one of approle and jwt',
    });

const settings = (ctx: ConfigContext) =>
  z
    .strictObject(
      {
        id: backendId.optional(),
        address: endpointUrl,
        namespace: path.optional(),
        tls_ca_file: filePath(ctx).optional(),
        timeout: duration(120).optional(),
        auth: auth(ctx),
        ssh: z
          .strictObject({
            mount: path,
            role: name,
            targets: z
              .array(targetPattern, { error: 'must be a list of target patterns' })
              .optional(),
            ttl: duration(900).optional(),
          })
          .optional(),
        tokens: tokens.optional(),
      },
      { error: 'must be a mapping' },
    )
    .refine((s) => s.ssh !== undefined || (s.tokens?.size ?? 0) > 0, {
      error: 'must configure ssh, tokens or both',
    });

type Settings = z.output<ReturnType<typeof settings>>;

/** A secret read once from the environment into a Secret. */
function fromEnv(variable: string, deps: BackendDeps): Secret {
  const value = deps.env[variable];
  if (value === undefined || value === '') {
    throw new ConfigError(deps.where, `the environment variable ${variable} is not set`);
  }
  return Secret.fromString(value);
}

/** A JWT file, read at every login (a projected token rotates), without a JS string. */
function fromFile(file: string): Secret {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return Secret.adopt(Buffer.alloc(0));
  }
  let end = bytes.byteLength;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d || bytes[end - 1] === 0x20))
    end--;
  const secret = Secret.copyOf(bytes.subarray(0, end));
  bytes.fill(0);
  return secret;
}

function loginOf(a: Settings['auth'], deps: BackendDeps): VaultLogin {
  if (a.approle !== undefined) {
    const { role_id, secret_id_env, mount } = a.approle;
    return { method: 'approle', mount, roleId: role_id, secretId: fromEnv(secret_id_env, deps) };
  }
  const jwt = a.jwt;
  if (jwt === undefined) throw new ConfigError(deps.where, 'auth must be approle or jwt');
  if (jwt.jwt_file !== undefined) {
    const file = jwt.jwt_file;
    return { method: 'jwt', mount: jwt.mount, role: jwt.role, jwt: () => fromFile(file) };
  }
  const held = fromEnv(jwt.jwt_env ?? '', deps);
  return {
    method: 'jwt',
    mount: jwt.mount,
    role: jwt.role,
    jwt: () => held.use((b) => Secret.copyOf(b)),
    release: () => held.dispose(),
  };
}

export const vaultPlugin = defineBackendPlugin({
  kind: 'vault',
  summary: 'HashiCorp Vault / OpenBao: SSH certificates, identity tokens and leased secrets',
  settings,
  create: (s: Settings, deps) =>
    new VaultBackend({
      ...(s.id !== undefined ? { id: s.id } : {}),
      address: s.address,
      namespace: s.namespace,
      tlsCa: s.tls_ca_file === undefined ? undefined : readSettingsFile(s.tls_ca_file, deps),
      login: loginOf(s.auth, deps),
      ssh:
        s.ssh === undefined
          ? undefined
          : { mount: s.ssh.mount, role: s.ssh.role, targets: s.ssh.targets, ttlSeconds: s.ssh.ttl },
      tokens: s.tokens,
      clock: deps.clock,
      logger: deps.logger,
      timeoutMs: s.timeout === undefined ? undefined : s.timeout * 1000,
    }),
});
