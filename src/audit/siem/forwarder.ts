/**
 * The live SIEM forwarder (`audit.forward`): every durable audit record, as an RFC 5424
 * message with octet-counting framing, over TCP or TLS (RFC 5425) to a collector. Best
 * effort by design — the trail in the store and the sink is the record: `enqueue` never
 * blocks or throws, so forwarding can neither slow nor fail an invocation. Guarantees
 * (README, "Sending the audit to a SIEM"): records go out in chain order; a record is
 * taken off the queue only once the kernel accepted its bytes, so one not yet accepted when
 * the connection breaks is sent again after the reconnect (resuming from the last accepted
 * seq); what the kernel accepted but the collector never got is lost with the connection
 * (syslog has no acknowledgement), and a full queue drops new records and counts them —
 * both show at the SIEM as a gap in `seq`, to be filled from `bastion audit export --after`.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from '../../base/logger.js';
import { recordSeq, type TrailRecord } from './ocsf.js';
import { octetFrame, type SiemFormat, syslogMessage } from './syslog.js';

export interface ForwardTarget {
  readonly format: SiemFormat;
  readonly transport: 'syslog-tcp' | 'syslog-tls';
  readonly host: string;
  readonly port: number;
  /** PEM of the CA(s) that sign the collector's certificate; default the system's. */
  readonly ca?: string | undefined;
  readonly appName: string;
}

export interface ForwarderOptions {
  readonly target: ForwardTarget;
  readonly logger: Logger;
  /** Opens the TCP connection (tests refuse anything off this host); default net.connect. */
  readonly connect?: ((host: string, port: number) => Socket) | undefined;
  /** Records held while the collector is away; default 10 000. */
  readonly queueLimit?: number | undefined;
}

export interface ForwarderStats {
  readonly sent: number;
  readonly dropped: number;
  readonly queued: number;
  /** The seq of the last record the kernel accepted; 0 before any. */
  readonly lastSentSeq: number;
  /** Connections that failed or were lost (each followed by a reconnect after a backoff). */
  readonly failures: number;
}

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

interface Frame {
  readonly seq: number;
  readonly bytes: Buffer;
}

export class SiemForwarder {
  readonly #target: ForwardTarget;
  readonly #logger: Logger;
  readonly #connect: (host: string, port: number) => Socket;
  readonly #limit: number;
  #queue: Frame[] = [];
  /** Written to the socket, not yet accepted by the kernel: sent again if it breaks. */
  #inflight: Frame[] = [];
  #socket: Socket | undefined;
  #ready = false;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  #closed = false;
  #sent = 0;
  #dropped = 0;
  #droppedLogged = 0;
  #lastSentSeq = 0;
  #failures = 0;

  constructor(options: ForwarderOptions) {
    this.#target = options.target;
    this.#logger = options.logger;
    this.#connect = options.connect ?? ((host, port) => netConnect({ host, port }));
    this.#limit = options.queueLimit ?? 10_000;
    this.#open();
  }

  /** Queues the records (dropping, and counting, what does not fit); never throws. */
  enqueue(records: readonly TrailRecord[]): void {
    if (this.#closed) return;
    for (const record of records) {
      if (this.#queue.length + this.#inflight.length >= this.#limit) {
        this.#dropped += 1;
        continue;
      }
      try {
        const message = syslogMessage(record, this.#target.format, {
          appName: this.#target.appName,
        });
        this.#queue.push({ seq: recordSeq(record), bytes: octetFrame(message) });
      } catch {
        this.#dropped += 1;
      }
    }
    this.#reportDrops();
    this.#pump();
  }

  stats(): ForwarderStats {
    return {
      sent: this.#sent,
      dropped: this.#dropped,
      queued: this.#queue.length + this.#inflight.length,
      lastSentSeq: this.#lastSentSeq,
      failures: this.#failures,
    };
  }

  /**
   * Stops. Connected, it hands the socket everything still queued and ends it (Node sends
   * what it buffered before the FIN); otherwise what is queued is dropped, and logged.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    if (socket !== undefined && this.#ready) {
      for (const frame of this.#queue) socket.write(frame.bytes);
      this.#queue = [];
      socket.end();
    } else {
      const left = this.#queue.length;
      if (left > 0) {
        this.#logger.warn(
          { ...this.#where(), records: left },
          'audit forward: records not sent at close',
        );
      }
      socket?.destroy();
    }
    this.#socket = undefined;
  }

  #where(): Record<string, unknown> {
    return { collector: `${this.#target.host}:${this.#target.port}` };
  }

  #reportDrops(): void {
    if (this.#dropped === this.#droppedLogged) return;
    this.#droppedLogged = this.#dropped;
    this.#logger.warn(
      { ...this.#where(), dropped: this.#dropped },
      'audit forward: records dropped',
    );
  }

  #open(): void {
    if (this.#closed) return;
    let socket: Socket;
    try {
      const raw = this.#connect(this.#target.host, this.#target.port);
      socket =
        this.#target.transport === 'syslog-tls'
          ? tlsConnect({
              socket: raw,
              servername: /^[\d.]+$|:/.test(this.#target.host) ? undefined : this.#target.host,
              ca: this.#target.ca,
              minVersion: 'TLSv1.2',
            })
          : raw;
    } catch {
      this.#retry();
      return;
    }
    this.#socket = socket;
    const ready = this.#target.transport === 'syslog-tls' ? 'secureConnect' : 'connect';
    const onReady = (): void => {
      this.#ready = true;
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.#logger.info(this.#where(), 'audit forward: connected');
      this.#pump();
    };
    if (this.#target.transport === 'syslog-tcp' && !socket.connecting) onReady();
    else socket.once(ready, onReady);
    socket.on('drain', () => this.#pump());
    // The collector sends nothing back; anything it does send is ignored.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#lost(socket));
  }

  #lost(socket: Socket): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    const wasReady = this.#ready;
    this.#ready = false;
    // Not accepted by the kernel: first in line again, in order.
    this.#queue = [...this.#inflight, ...this.#queue];
    this.#inflight = [];
    if (this.#closed) return;
    if (wasReady) this.#logger.warn(this.#where(), 'audit forward: connection lost; reconnecting');
    this.#retry();
  }

  #retry(): void {
    if (this.#closed) return;
    this.#failures += 1;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    this.#timer = setTimeout(() => this.#open(), delay);
    // A collector that stays away must not keep the process alive.
    this.#timer.unref();
  }

  #pump(): void {
    const socket = this.#socket;
    if (socket === undefined || !this.#ready) return;
    while (this.#queue.length > 0 && socket.writableNeedDrain !== true) {
      const frame = this.#queue.shift() as Frame;
      this.#inflight.push(frame);
      socket.write(frame.bytes, (err) => {
        if (err !== undefined && err !== null) return; // 'close' puts it back in the queue
        const at = this.#inflight.indexOf(frame);
        if (at < 0) return;
        this.#inflight.splice(at, 1);
        this.#sent += 1;
        this.#lastSentSeq = Math.max(this.#lastSentSeq, frame.seq);
      });
    }
  }
}
