/**
 * The SHA-256 and HMAC-SHA256 that `@smithy/signature-v4` computes with, over node:crypto,
 * for one signature: the signer passes its HMAC keys — the secret key (`AWS4` + secret) and
 * the keys derived from it — as strings or bytes, and this class copies each into memory of
 * its own (never Node's shared Buffer pool, where a copy would linger) and zero-fills it as
 * soon as the HMAC holds it; `wipe()` zero-fills every derived key it handed back, once the
 * request is signed.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

type Source = string | ArrayBuffer | ArrayBufferView;

/** Bytes of `data` in a buffer of their own (the caller may zero-fill it). */
function ownBytes(data: Source): Buffer {
  if (typeof data === 'string') {
    const own = Buffer.alloc(Buffer.byteLength(data, 'utf8'));
    own.write(data, 'utf8');
    return own;
  }
  const view =
    data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const own = Buffer.alloc(view.byteLength);
  own.set(view);
  return own;
}

export interface WipingSha256 {
  /** The hash constructor the signer takes. */
  readonly constructor: new (secret?: Source) => {
    update(data: Uint8Array): void;
    digest(): Promise<Uint8Array>;
    reset(): void;
  };
  /** Zero-fills every HMAC output handed out. */
  wipe(): void;
}

export function wipingSha256(): WipingSha256 {
  const handedOut: Buffer[] = [];
  class Sha256 {
    #hash: Hash | Hmac;
    readonly #keyed: boolean;

    constructor(secret?: Source) {
      this.#keyed = secret !== undefined;
      if (secret === undefined) {
        this.#hash = createHash('sha256');
      } else {
        const key = ownBytes(secret);
        try {
          this.#hash = createHmac('sha256', key);
        } finally {
          key.fill(0);
        }
      }
    }

    update(data: Uint8Array): void {
      this.#hash.update(data);
    }

    digest(): Promise<Uint8Array> {
      const out = this.#hash.digest();
      if (this.#keyed) handedOut.push(out);
      return Promise.resolve(out);
    }

    reset(): void {
      // The signer makes a new hash for every use.
    }
  }
  return {
    constructor: Sha256,
    wipe: () => {
      for (const bytes of handedOut.splice(0)) bytes.fill(0);
    },
  };
}
