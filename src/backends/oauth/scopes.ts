/**
 * Scopes: which scopes the broker asks for (a deployment's mapping of the AC's
 * capabilities, by default `<target>/<capability>`), and whether what the authorization
 * server granted stays within them.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';

export const MAX_SCOPES = 64;

/** RFC 6749 §3.3 scope-token characters: printable ASCII less space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,512}$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** The target as a scope prefix: a resource indicator without trailing slashes. */
export function scopeBase(target: string): string {
  return target.replace(/\/+$/, '');
}

/**
 * The default capability → scope mapping: one scope per AC capability, named
 * `<target>/<capability>` (e.g. `https://api.test/read`), the Entra convention for a
 * resource's permissions. The authorization server then intersects with what the
 * resource offers, so the token never carries more than the AC's capabilities.
 */
export function defaultScopes(capabilities: readonly string[], target: string): string[] {
  const base = scopeBase(target);
  return [...new Set(capabilities.map((capability) => `${base}/${capability}`))];
}

/**
 * True when every scope the server granted was asked for, either exactly or by its short
 * name (`read` for a requested `<target>/read`): a token broader than asked is refused.
 */
export function isWithinRequested(
  granted: readonly string[],
  requested: readonly string[],
  target: string,
): boolean {
  const base = scopeBase(target) + '/';
  const allowed = new Set<string>();
  for (const scope of requested) {
    allowed.add(scope);
    if (scope.startsWith(base)) allowed.add(scope.slice(base.length));
  }
  return granted.every((scope) => allowed.has(scope));
}

/**
 * The scopes to ask for, from a deployment's mapping of capabilities: a non-empty list of
 * valid, distinct scope tokens, or an invalid-request refusal (the mapping is ours to fix).
 */
export function scopesOf(
  scopesFor: (capabilities: readonly string[], target: string) => string[],
  capabilities: readonly string[],
  target: string,
): string[] {
  let scopes: unknown;
  try {
    scopes = scopesFor(capabilities, target);
  } catch {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    scopes.length > MAX_SCOPES ||
    !scopes.every((s): s is string => typeof s === 'string' && isScopeToken(s))
  ) {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  return [...new Set(scopes)];
}
