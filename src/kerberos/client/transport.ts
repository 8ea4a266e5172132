/**
 * The KDC transport (RFC 4120 §7.2.2): Kerberos over TCP, each message behind a 4-byte
 * big-endian length, one request per connection. TCP only — a reply larger than a UDP
 * datagram needs TCP anyway, and a stream has no spoofed-datagram race. The KDC addresses
 * come from the operator's configuration and are tried in order: the next one only when a
 * connection cannot be made (a KDC that accepted the request and failed is not retried, so
 * a request is never sent twice by surprise). One deadline bounds the whole call, across
 * the failover, and the caller's AbortSignal (the resolver's per-backend timeout) ends it
 * at once. A reply is bounded (MAX_REPLY_BYTES) before it is buffered.
 */
import { connect, type Socket } from 'node:net';
import { BastionError } from '../../base/errors.js';
import { deadline } from '../../base/deadline.js';

/** A reply longer than this is refused: tickets with a PAC are a few KiB. */
export const MAX_REPLY_BYTES = 64 * 1024;
/** RFC 4120 §7.2.2: the high bit of the length is reserved (must be 0). */
const RESERVED_BIT = 0x80000000;

export interface KdcAddress {
  readonly host: string;
  readonly port: number;
}

export interface KdcTransportOptions {
  /** Tried in order; the next one only when the previous cannot be connected to. */
  readonly kdcs: readonly KdcAddress[];
  /** The whole call's limit, in milliseconds, failover included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** Sends `request` to the first KDC that accepts a connection; its reply's bytes. */
export async function exchangeWithKdc(
  request: Uint8Array,
  options: KdcTransportOptions,
): Promise<Buffer> {
  if (options.kdcs.length === 0) throw new BastionError('kerberos_kdc_unreachable');
  const limit = deadline(options.timeoutMs, options.signal);
  try {
    for (const kdc of options.kdcs) {
      const reply = await oneKdc(kdc, request, limit.signal);
      if (reply !== 'unreachable') return reply;
    }
    throw new BastionError('kerberos_kdc_unreachable');
  } finally {
    limit.clear();
  }
}

function abortError(signal: AbortSignal): BastionError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
  return new BastionError(timedOut ? 'kerberos_kdc_timeout' : 'kerberos_kdc_aborted');
}

/** The reply, or 'unreachable' when no connection could be made. */
function oneKdc(
  kdc: KdcAddress,
  request: Uint8Array,
  signal: AbortSignal,
): Promise<Buffer | 'unreachable'> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const socket: Socket = connect({ host: kdc.host, port: kdc.port });
    let connected = false;
    const chunks: Buffer[] = [];
    let received = 0;
    let expected: number | undefined;
    const finish = (err: BastionError | undefined, value?: Buffer | 'unreachable'): void => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined); // late errors after destroy go nowhere
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(value ?? 'unreachable');
    };
    const onAbort = (): void => finish(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      connected = true;
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(request.byteLength);
      socket.write(Buffer.concat([prefix, request]));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
      chunks.push(chunk);
      if (expected === undefined && received >= 4) {
        const length = Buffer.concat(chunks).readUInt32BE(0);
        if ((length & RESERVED_BIT) !== 0 || length === 0) {
          return finish(new BastionError('kerberos_kdc_reply_malformed'));
        }
        if (length > MAX_REPLY_BYTES) return finish(new BastionError('kerberos_message_too_large'));
        expected = length;
      }
      if (expected !== undefined && received > expected + 4) {
        return finish(new BastionError('kerberos_kdc_reply_malformed'));
      }
      if (expected !== undefined && received === expected + 4) {
        finish(undefined, Buffer.concat(chunks).subarray(4));
      }
    });
    socket.once('end', () => finish(new BastionError('kerberos_kdc_reply_malformed')));
    socket.once('error', () => {
      if (!connected) finish(undefined, 'unreachable');
      else finish(new BastionError('kerberos_kdc_unreachable'));
    });
  });
}
