/**
 * A remote command's output stream held to a size limit: the first bytes are kept, the
 * rest only counted, so that a flood of output cannot exhaust the broker's memory.
 */

/** Keeps the first `limit` bytes of a stream and counts the rest. */
export class BoundedSink {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}
  get full(): boolean {
    return this.dropped > 0;
  }
  push(chunk: Buffer): void {
    const room = this.limit - this.#kept;
    if (room > 0) {
      const part = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
      this.#chunks.push(Buffer.from(part));
      this.#kept += part.byteLength;
    }
    this.dropped += Math.max(0, chunk.byteLength - Math.max(room, 0));
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
