/**
 * Secret: the only holder of credential bytes in Bastion (invariant I1).
 *
 * The bytes live in a Buffer that is never shared with V8's string heap by this class; every
 * way an object turns into text (toString, toJSON, template literals, util.inspect) yields
 * `[redacted]`; reading is scoped, `use(fn)`; `dispose()` zero-fills the bytes and is
 * idempotent, and works with `using`. What `fn` copies out (e.g. into a header string) is
 * outside this guarantee: keep such copies short. `unsafeReveal()` hands out the Buffer
 * itself, for tests only: nothing in src/ calls it (a lint rule keeps it so).
 */
import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { BastionError } from '../base/errors.js';
import { copyOwned, encodeOwned } from '../base/owned-bytes.js';

export const REDACTED = '[redacted]';

export class SecretDisposedError extends BastionError {
  constructor() {
    super('secret_disposed');
  }
}

export class Secret implements Disposable {
  #bytes: Buffer | null;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /**
   * Takes ownership of `bytes` without copying: the caller must not keep or reuse the
   * buffer, since dispose zero-fills it.
   */
  static adopt(bytes: Buffer): Secret {
    return new Secret(bytes);
  }

  /** Copies `bytes` into memory of its own (never the shared Buffer pool). */
  static copyOf(bytes: Uint8Array): Secret {
    return new Secret(copyOwned(bytes));
  }

  /**
   * From a string, e.g. a token an issuer returned in JSON. The string itself stays in the
   * V8 heap until collected; only the Secret's copy is zeroed.
   */
  static fromString(text: string, encoding: BufferEncoding = 'utf8'): Secret {
    return new Secret(encodeOwned(text, encoding));
  }

  get disposed(): boolean {
    return this.#bytes === null;
  }

  get byteLength(): number {
    return this.#live().byteLength;
  }

  /**
   * The bytes themselves, not a copy, with no scope to end their use: for tests that must
   * look at a secret. Bastion's own code reads through `use(fn)`.
   */
  unsafeReveal(): Buffer {
    return this.#live();
  }

  /** Runs `fn` with the bytes; the usual way to read a secret. */
  use<T>(fn: (bytes: Buffer) => T): T {
    return fn(this.#live());
  }

  /** Constant-time comparison; false for different lengths. */
  equals(other: Secret): boolean {
    const a = this.#live();
    const b = other.#live();
    return a.byteLength === b.byteLength && timingSafeEqual(a, b);
  }

  /** Zero-fills and forgets the bytes. Idempotent. */
  dispose(): void {
    if (this.#bytes === null) return;
    this.#bytes.fill(0);
    this.#bytes = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }

  #live(): Buffer {
    if (this.#bytes === null) throw new SecretDisposedError();
    return this.#bytes;
  }
}
