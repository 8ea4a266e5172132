/**
 * The SHA-256 and HMAC-SHA256 that `@smithy/signature-v4` computes with, over node:crypto,
 * for one signature: the signer passes its HMAC keys — the secret key (`AWS4` + secret) and
 * the keys derived from it — as strings or bytes, and this class copies each into memory of
 * its own (never Node's shared Buffer pool, where a copy would linger) and zero-fills it as
 * soon as the HMAC holds it; `wipe()` zero-fills every derived key it handed back, once the
 * request is signed. What the signer hashes (the canonical request, which holds the session
 * token, and the strings it derives keys from) it encodes with Buffer.from, into Node's
 * shared 8 KiB pool, where any long-lived slice of the same slab would keep a copy alive:
 * `update` zero-fills each such input once hashed — all but the request body, which is
 * still to be sent.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { copyOwned, encodeOwned } from '../../base/owned-bytes.js';

type Source = string | ArrayBuffer | ArrayBufferView;

/** Bytes of `data` in a buffer of their own (the caller may zero-fill it). */
function ownBytes(data: Source): Buffer {
  if (typeof data === 'string') return encodeOwned(data);
  return copyOwned(
    data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
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

/** `keep`: the request body, which the signer may hash in place and must not be wiped. */
export function wipingSha256(keep?: unknown): WipingSha256 {
  const kept = ArrayBuffer.isView(keep) ? keep : undefined;
  // The body may sit in the same pool slab as a temporary: only its own bytes are spared.
  const isKept = (data: Uint8Array): boolean =>
    kept !== undefined &&
    data.buffer === kept.buffer &&
    data.byteOffset < kept.byteOffset + kept.byteLength &&
    kept.byteOffset < data.byteOffset + data.byteLength;
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
      if (!isKept(data)) data.fill(0);
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
