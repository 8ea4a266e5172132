/**
 * Wrapping the broker's signing keys for the database (`signing_keys: database`): the KMS
 * hook (`KeyWrapper`: wrap and unwrap one key, with associated data) and the built-in
 * wrapper, a local key-encryption key (KEK) with AES-256-GCM and a random 96-bit nonce.
 * The KEK is never in the database and the database never holds an unwrapped key, so a
 * stolen database alone yields no signing key and a KEK alone yields nothing without the
 * database. A KMS (one that wraps keys under a key it never exports) plugs in as another
 * `KeyWrapper`. The KEK comes from `$BASTION_KEY_ENCRYPTION_KEY` or
 * `key_encryption_key_file` (base64 of 32 bytes; the file readable by its owner only).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { BastionError, ConfigError } from '../base/errors.js';
import { Secret } from '../credentials/secret.js';

/** The KMS hook: what the keyring needs of whatever holds the key-encryption key. */
export interface KeyWrapper {
  /** Encrypts `key` bound to `aad`; the result is safe to store anywhere. */
  wrap(key: Secret, aad: Buffer): Promise<Buffer>;
  /** Decrypts what `wrap` made with the same `aad`; throws SigningKeyUnwrapError otherwise. */
  unwrap(wrapped: Buffer, aad: Buffer): Promise<Secret>;
}

/** Wrong KEK, or a wrapped key (its ciphertext, kid or version) altered: fail closed. */
export class SigningKeyUnwrapError extends BastionError {
  constructor() {
    super('signing_key_unwrap_failed');
  }
}

export const KEK_ENV = 'BASTION_KEY_ENCRYPTION_KEY';
const KEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The built-in wrapper: AES-256-GCM under a local KEK held in a Secret. */
export class LocalKek implements KeyWrapper {
  readonly #kek: Secret;

  /** Takes ownership of `kek` (32 bytes); `dispose` zero-fills it. */
  constructor(kek: Secret) {
    if (kek.byteLength !== KEK_BYTES) {
      kek.dispose();
      throw new ConfigError(KEK_ENV, 'the key-encryption key must be 32 bytes');
    }
    this.#kek = kek;
  }

  wrap(key: Secret, aad: Buffer): Promise<Buffer> {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = this.#kek.use((k) => createCipheriv('aes-256-gcm', k, nonce));
    cipher.setAAD(aad);
    const body = key.use((bytes) => Buffer.concat([cipher.update(bytes), cipher.final()]));
    return Promise.resolve(Buffer.concat([nonce, body, cipher.getAuthTag()]));
  }

  unwrap(wrapped: Buffer, aad: Buffer): Promise<Secret> {
    if (wrapped.byteLength < NONCE_BYTES + TAG_BYTES) throw new SigningKeyUnwrapError();
    const nonce = wrapped.subarray(0, NONCE_BYTES);
    const body = wrapped.subarray(NONCE_BYTES, wrapped.byteLength - TAG_BYTES);
    const decipher = this.#kek.use((k) =>
      createDecipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG_BYTES }),
    );
    decipher.setAAD(aad);
    decipher.setAuthTag(wrapped.subarray(wrapped.byteLength - TAG_BYTES));
    const head = decipher.update(body);
    try {
      const tail = decipher.final();
      const plain = Buffer.alloc(head.byteLength + tail.byteLength);
      head.copy(plain);
      tail.copy(plain, head.byteLength);
      return Promise.resolve(Secret.adopt(plain));
    } catch {
      throw new SigningKeyUnwrapError();
    } finally {
      head.fill(0);
    }
  }

  dispose(): void {
    this.#kek.dispose();
  }
}

/**
 * The local KEK from a file (base64 of 32 bytes, readable by its owner only) or from
 * `$BASTION_KEY_ENCRYPTION_KEY`; undefined when neither is given. Both given is refused.
 */
export function loadLocalKek(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): LocalKek | undefined {
  const fromEnv = env[KEK_ENV];
  if (file !== undefined && fromEnv !== undefined) {
    throw new ConfigError('key_encryption_key_file', `give it or $${KEK_ENV}, not both`);
  }
  if (file !== undefined) return new LocalKek(decodeKek(readKekFile(file), file));
  if (fromEnv === undefined) return undefined;
  // The environment's string stays in the V8 heap; the file is the better home.
  return new LocalKek(decodeKek(Buffer.from(fromEnv), `$${KEK_ENV}`));
}

function readKekFile(file: string): Buffer {
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new ConfigError(file, 'key file must not be readable by group or others (chmod 600)');
    }
    return readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, 'cannot read the key file');
  }
}

/** base64 text (whitespace around it ignored) to the KEK's bytes; `text` is zero-filled. */
function decodeKek(text: Buffer, where: string): Secret {
  try {
    const b64 = text.toString('latin1').trim();
    if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) {
      throw new ConfigError(where, 'the key-encryption key must be base64 of 32 bytes');
    }
    return Secret.adopt(Buffer.from(b64, 'base64'));
  } finally {
    text.fill(0);
  }
}
