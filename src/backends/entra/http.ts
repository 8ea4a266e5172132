/**
 * One HTTP exchange for MSAL, through the shared node:http(s) exchange instead of MSAL's
 * own client: the call's abort signal and time limit reach the socket, a private
 * authority's CA can be trusted without `NODE_EXTRA_CA_CERTS`, no redirect is followed,
 * and a reply larger than MAX_REPLY_BYTES is not read.
 */
import type { NetworkRequestOptions } from '@azure/msal-node';
import { exchange, type RawReply } from '../http-exchange.js';
import { checkEndpoint } from '../oauth/config.js';
import { MAX_REPLY_BYTES } from '../oauth/reply.js';

export type { RawReply };

/** One exchange: https, or http to a loopback address only. */
export function sendRequest(
  method: 'GET' | 'POST',
  url: string,
  options: NetworkRequestOptions | undefined,
  signal: AbortSignal,
  ca: string[] | undefined,
): Promise<RawReply> {
  let parsed: URL;
  try {
    parsed = new URL(checkEndpoint('entra endpoint', url));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error('bad url'));
  }
  return exchange({
    method,
    url: parsed,
    headers: { ...(options?.headers ?? {}) },
    body: method === 'POST' ? Buffer.from(options?.body ?? '', 'utf8') : undefined,
    signal,
    ca,
    maxBytes: MAX_REPLY_BYTES,
  });
}
