/**
 * One authenticated WinRM connection: the Kerberos context WinRM keeps per TCP connection.
 * Opening it POSTs the AP-REQ (`Authorization: <scheme> <token>`, empty body) on a new
 * socket and requires a 200 whose `WWW-Authenticate` carries the AP-REP: the initiator's
 * `finish` checks it (mutual authentication: the peer holds the target's service key), and
 * nothing is sent before it passed. Then every envelope is sealed in that context and must
 * travel on that very socket, its reply sealed too. Any failure breaks the connection for
 * good (its socket destroyed, its key zero-filled): it is never used again.
 */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { BastionError } from '../../base/errors.js';
import {
  initiateContext,
  type GssScheme,
  type InitiatorInput,
} from '../../kerberos/gss/initiator.js';
import type { GssSession } from '../../kerberos/gss/session.js';
import { decryptBody, encryptBody, encryptedContentType } from './encryption.js';
import { post, type PostReply, type WinRmEndpoint } from './http-post.js';

export interface ConnectionOptions {
  readonly endpoint: WinRmEndpoint;
  readonly scheme: GssScheme;
  /** The service ticket, its session key (the caller keeps and disposes it) and the client. */
  readonly initiator: InitiatorInput;
  readonly maxReplyBytes: number;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const EMPTY = Buffer.alloc(0);

/** The AP-REP token of `scheme` in the challenges; undefined when there is none. */
export function replyToken(challenges: readonly string[], scheme: GssScheme): Buffer | undefined {
  const prefix = `${scheme.toLowerCase()} `;
  const tokens = challenges
    .filter((c) => c.toLowerCase().startsWith(prefix))
    .map((c) => c.slice(prefix.length).trim());
  const [text, ...more] = tokens;
  if (text === undefined) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // One token, in canonical base64: anything else is not an answer to our AP-REQ.
  if (more.length !== 0 || !BASE64.test(text) || bytes.toString('base64') !== text) {
    throw new BastionError('kerberos_gss_token_invalid');
  }
  return bytes;
}

export class WinRmConnection {
  #broken = false;

  private constructor(
    private readonly agent: Agent,
    private readonly options: ConnectionOptions,
    private readonly socket: Socket,
    private readonly session: GssSession,
  ) {}

  /** Authenticates a new connection of `agent`; the AP-REP is checked before this resolves. */
  static async open(
    agent: Agent,
    options: ConnectionOptions,
    signal: AbortSignal,
  ): Promise<WinRmConnection> {
    const pending = initiateContext(options.initiator, options.scheme);
    let socket: Socket | undefined;
    try {
      const authorization = `${options.scheme} ${pending.token.toString('base64')}`;
      pending.token.fill(0);
      const reply = await post(agent, options.endpoint, { Authorization: authorization }, EMPTY, {
        signal,
        maxReplyBytes: options.maxReplyBytes,
        failure: 'winrm_connect_failed',
        onSocket: (s, reused) => {
          // A kept-alive socket may carry another context: a context starts on a new one.
          if (reused) throw new BastionError('winrm_connection_lost');
          socket = s;
        },
      });
      if (reply.status === 401) throw new BastionError('winrm_auth_refused');
      if (reply.status !== 200) throw new BastionError('winrm_http_status');
      if (socket === undefined || socket.destroyed) throw new BastionError('winrm_connection_lost');
      const session = pending.finish(replyToken(reply.challenges, options.scheme));
      return new WinRmConnection(agent, options, socket, session);
    } catch (err) {
      pending.dispose();
      socket?.destroy();
      throw err;
    }
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** Seals `envelope`, POSTs it on this connection's socket, and opens the sealed reply. */
  async send(envelope: string, signal: AbortSignal): Promise<string> {
    if (this.#broken) throw new BastionError('winrm_connection_lost');
    const { scheme, endpoint, maxReplyBytes } = this.options;
    try {
      const body = encryptBody(this.session, scheme, Buffer.from(envelope, 'utf8'));
      const reply = await post(
        this.agent,
        endpoint,
        { 'Content-Type': encryptedContentType(scheme) },
        body,
        {
          signal,
          maxReplyBytes,
          failure: 'winrm_connection_lost',
          onSocket: (s) => {
            // Another socket has no context: the encrypted body would be sent for nothing.
            if (s !== this.socket) throw new BastionError('winrm_connection_lost');
          },
        },
      );
      return this.#open(reply);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The SOAP reply, whatever the status (faults are SOAP), once it proved sealed. */
  #open(reply: PostReply): string {
    const { scheme, maxReplyBytes } = this.options;
    if (reply.status === 401) throw new BastionError('winrm_auth_refused');
    const type = reply.headers['content-type']?.toLowerCase() ?? '';
    if (!type.startsWith('multipart/encrypted') || reply.body.byteLength === 0) {
      throw new BastionError('winrm_reply_unencrypted');
    }
    return decryptBody(this.session, scheme, reply.body, maxReplyBytes).toString('utf8');
  }

  /** Ends the connection and zero-fills its key. Idempotent. */
  close(): void {
    this.#broken = true;
    this.socket.destroy();
    this.session.dispose();
  }
}
