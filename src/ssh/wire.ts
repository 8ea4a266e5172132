/**
 * The SSH wire encoding (RFC 4251 §5) that certificates and private keys are built from:
 * big-endian integers and length-prefixed `string`s, written into Buffers and read back
 * with bounds checks (anything short is a RangeError).
 */

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

/** An SSH `string`: uint32 length, then the bytes. */
export function sshString(value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([u32(bytes.byteLength), bytes]);
}

/** The encoded length of an SSH `string` holding `value`. */
export function sshStringLength(value: Uint8Array | string): number {
  return 4 + (typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength);
}

/**
 * Writes wire fields in order into a buffer sized up front (no intermediate Buffers, so
 * nothing to concatenate and nothing left over to wipe); `at` is where the next field goes.
 */
export class Writer {
  at = 0;
  constructor(readonly buf: Buffer) {}
  u32(n: number): this {
    this.at = this.buf.writeUInt32BE(n, this.at);
    return this;
  }
  u64(n: bigint): this {
    this.at = this.buf.writeBigUInt64BE(n, this.at);
    return this;
  }
  /** Bytes as they are, no length prefix. */
  raw(bytes: Uint8Array): this {
    this.buf.set(bytes, this.at);
    this.at += bytes.byteLength;
    return this;
  }
  /** An SSH `string`: uint32 length, then the bytes (a JS string is written as UTF-8). */
  string(value: Uint8Array | string): this {
    if (typeof value !== 'string') return this.u32(value.byteLength).raw(value);
    const n = this.buf.write(value, this.at + 4);
    this.buf.writeUInt32BE(n, this.at);
    this.at += 4 + n;
    return this;
  }
}

/** Reads wire fields in order; views into the buffer, never copies. */
export class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.#at === this.buf.byteLength;
  }
  u32(): number {
    if (this.#at + 4 > this.buf.byteLength) throw new RangeError('truncated');
    const v = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    return v;
  }
  u64(): bigint {
    if (this.#at + 8 > this.buf.byteLength) throw new RangeError('truncated');
    const v = this.buf.readBigUInt64BE(this.#at);
    this.#at += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.#at + n > this.buf.byteLength) throw new RangeError('truncated');
    const v = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
  /** The unread bytes (a view), consuming them. */
  rest(): Buffer {
    const v = this.buf.subarray(this.#at);
    this.#at = this.buf.byteLength;
    return v;
  }
}
