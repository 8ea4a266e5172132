/**
 * Test backends for the resolver's own rules. They stand in for no real peer: they are
 * the plug-in side of Bastion's contract, scripted to misbehave in every way a real
 * backend can.
 */
import { Secret } from '../../src/credentials/secret.js';
import type { CredentialBackend } from '../../src/credentials/backend.js';
import type { AcContext, Credential, CredentialType } from '../../src/credentials/types.js';

export type Behaviour = (
  type: CredentialType,
  target: string,
  ac: AcContext,
  signal: AbortSignal | undefined,
) => unknown;

export interface ScriptedBackend extends CredentialBackend {
  readonly calls: { type: CredentialType; target: string; signal: AbortSignal | undefined }[];
  readonly revoked: Credential[];
}

export function scriptedBackend(
  id: string,
  behaviour: Behaviour,
  options: {
    types?: CredentialType[];
    issuerCannotShortenLifetime?: boolean;
    timeoutMs?: number;
    revoke?: (c: Credential) => unknown;
  } = {},
): ScriptedBackend {
  const calls: ScriptedBackend['calls'] = [];
  const revoked: Credential[] = [];
  return {
    id,
    supportedTypes: options.types ?? ['oauth'],
    ...(options.issuerCannotShortenLifetime !== undefined
      ? { issuerCannotShortenLifetime: options.issuerCannotShortenLifetime }
      : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    calls,
    revoked,
    resolve(type, target, ac, signal) {
      calls.push({ type, target, signal });
      // Deliberately not async: a backend may throw synchronously, too.
      return behaviour(type, target, ac, signal) as never;
    },
    revoke(c) {
      revoked.push(c);
      return (options.revoke?.(c) ?? Promise.resolve()) as Promise<void>;
    },
  };
}

export const TARGET = 'api.internal.test';

export function acFor(
  target: string,
  nowMs: number,
  overrides: Partial<AcContext> = {},
): AcContext {
  return {
    ac_id: 'ac-0001',
    principal_did: 'did:key:z6MkTestPrincipal',
    capability_mask: 1,
    capabilities: ['read'],
    accord_template: 'test',
    connector: 'http',
    target,
    expires_at: Math.floor(nowMs / 1000) + 600,
    ssh_principals: ['alice'],
    ...overrides,
  };
}

/** A well-formed oauth credential from `issuedBy`, expiring at `expiresAt`. */
export function oauthCredential(
  issuedBy: string,
  expiresAt: Date | undefined,
  overrides: Record<string, unknown> = {},
): Credential {
  return {
    type: 'oauth',
    target: TARGET,
    accessToken: Secret.fromString('token-of-' + issuedBy),
    tokenType: 'Bearer',
    scopedTo: 'read',
    issuedBy,
    id: 'jti-' + issuedBy,
    expiresAt,
    ...overrides,
  } as Credential;
}

export const never = (): Promise<never> => new Promise<never>(() => undefined);
