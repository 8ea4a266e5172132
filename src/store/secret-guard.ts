/**
 * The guard that keeps credentials out of the store. The store holds authorization metadata
 * only, so a key named like a secret, or a value shaped like a JWT or a PEM private key,
 * means a caller is about to persist a credential; the callers refuse it. Pure predicates,
 * no database here: every `Store` implementation shares this one module.
 *
 * One key-shaped value is stored, by its own narrow method and never through these
 * fields: a signing key wrapped under a key-encryption key the database never holds
 * (signing-keys.ts checks its format and refuses a plaintext key). Ciphertext whose key is
 * elsewhere is no credential to whoever steals the database.
 */

const SECRET_NAME = /token|secret|passw|private|key_material|credential_value|api_?key/i;
const SECRET_VALUE =
  /^ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$|-----BEGIN [A-Z ]*KEY-----/;

/** True when `value` is shaped like a JWT or holds a PEM private key. */
export function isSecretShaped(value: string): boolean {
  return SECRET_VALUE.test(value);
}

/**
 * True when `value`, at any depth, holds a secret-shaped string or an object key named like
 * a secret.
 */
export function looksSecret(value: unknown): boolean {
  if (typeof value === 'string') return SECRET_VALUE.test(value);
  if (Array.isArray(value)) return value.some(looksSecret);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => SECRET_NAME.test(k) || looksSecret(v));
  }
  return false;
}
