/**
 * Approvers learn of a request awaiting them without an out-of-band message: each request
 * stored as pending_approval is POSTed to the configured webhook as Slack-compatible JSON
 * (`{text, blocks}`). Fire and forget: sent after the request is stored, bounded by a
 * timeout, never awaited by the request and never failing it; a failure is logged without
 * the URL (Slack's hold a token in the path). The message carries no token (a pending AC
 * has none) and the justification only when configured. The connection goes through the
 * HTTP transport's checks — one DNS resolution, no link-local or metadata address — and its
 * injectable connect, which tests restrict to loopback.
 */
import { isIP, type LookupFunction } from 'node:net';
import type { Logger } from '../base/logger.js';
import type { NotificationsConfig } from '../config/notifications.js';
import type { AcRecord } from '../store/store.js';
import type { Base } from '../transports/http/base-url.js';
import {
  type ConnectFunction,
  defaultConnect,
  defaultLookup,
  resolveOnce,
} from '../transports/http/destination.js';
import { exchange } from '../transports/http/exchange.js';

/** A webhook's reply is not read: a little of it is enough to see it ended. */
const MAX_REPLY_BYTES = 4096;

export interface NotifierOptions {
  readonly settings: NotificationsConfig;
  readonly log: Logger;
  /** Injected by tests (loopback only); net.connect and dns.lookup otherwise. */
  readonly connect?: ConnectFunction | undefined;
  readonly lookup?: LookupFunction | undefined;
}

/** The Slack-compatible message for one pending request. */
export function pendingMessage(
  record: AcRecord,
  includeJustification: boolean,
): { text: string; blocks: unknown[] } {
  const lines = [
    `Access request awaiting approval: ${record.ac_id}`,
    `principal ${record.principal_did}${record.act !== undefined ? ` for agent ${record.act.sub}` : ''}`,
    `${record.connector} on ${record.target}: ${record.capabilities.join(', ')} for ${record.duration_seconds}s`,
    `accord ${record.accord}, ${record.approvals_required} approval(s) needed`,
    ...(includeJustification && record.justification !== undefined
      ? [`justification: ${record.justification}`]
      : []),
    `bastion approvals list, then bastion approve ${record.ac_id}`,
  ];
  const text = lines.join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'plain_text', text } }] };
}

/** The callback GovernanceService calls for each pending request. */
export function pendingNotifier(options: NotifierOptions): (record: AcRecord) => void {
  const { settings, log } = options;
  const url = new URL(settings.webhook_url);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const base: Base = {
    scheme,
    hostname,
    port: url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
    origin: url.origin,
    basePath: '',
    ipLiteral: isIP(hostname) !== 0,
  };
  const connect = options.connect ?? defaultConnect;
  const lookup = options.lookup ?? defaultLookup;

  async function send(record: AcRecord): Promise<void> {
    const signal = AbortSignal.timeout(settings.timeout_seconds * 1000);
    const body = Buffer.from(
      JSON.stringify(pendingMessage(record, settings.include_justification)),
    );
    const reply = await exchange({
      base,
      pinned: await resolveOnce(lookup, hostname, signal),
      connect,
      allowedLiteral: undefined,
      method: 'POST',
      requestPath: url.pathname + url.search,
      headers: { 'content-type': 'application/json' },
      body,
      bearer: undefined,
      maxBytes: MAX_REPLY_BYTES,
      signal,
      ca: undefined,
    });
    if (reply.status < 200 || reply.status > 299) {
      log.warn({ ac_id: record.ac_id, status: reply.status }, 'approval webhook refused');
    }
  }

  return (record) => {
    send(record).catch((err: unknown) => {
      // The code only: the error may name the address, never the URL's path.
      const code = (err as { code?: unknown }).code;
      log.warn(
        { ac_id: record.ac_id, code: typeof code === 'string' ? code : 'error' },
        'approval webhook failed',
      );
    });
  };
}
