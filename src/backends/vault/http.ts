/**
 * The broker's client of one Vault (or OpenBao: the same HTTP API) server: a JSON request
 * to `/v1/<path>` through the shared node:http(s) exchange, with the broker's token in
 * `X-Vault-Token`, the namespace in `X-Vault-Namespace`, `X-Vault-Request: true`, the
 * deployment's CA, a time limit and the caller's abort signal, and a JSON reply of at most
 * MAX_REPLY_BYTES whose bytes are zero-filled once parsed. Response wrapping is never asked
 * for (no `X-Vault-Wrap-TTL`). Network failures, aborts and time-outs are
 * `backend_unavailable`; what Vault answered is the caller's to judge.
 *
 * The token header is the one JS-string copy of the broker's token per request (node:http
 * takes header values as strings); the body is built from bytes (json-body.ts).
 * API overview: https://developer.hashicorp.com/vault/api-docs
 */
import { deadline } from '../../base/deadline.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import type { Secret } from '../../credentials/secret.js';
import { exchange } from '../http-exchange.js';
import { MAX_REPLY_BYTES, parseJsonObject } from '../oauth/reply.js';
import { type JsonFields, jsonBody } from './json-body.js';

export interface VaultReply {
  readonly status: number;
  /** The reply's JSON object; undefined for an empty (204) or unreadable reply. */
  readonly json: Record<string, unknown> | undefined;
}

export interface VaultHttpOptions {
  /** `https://vault.example:8200`, or http to a loopback address; no trailing slash. */
  readonly address: string;
  readonly namespace?: string | undefined;
  /** The CAs trusted for https (Node's list plus the deployment's), when configured. */
  readonly ca?: string[] | undefined;
  readonly timeoutMs: number;
}

export interface VaultCall {
  readonly token?: Secret | undefined;
  readonly body?: JsonFields | undefined;
  readonly signal?: AbortSignal | undefined;
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;

export class VaultHttp {
  readonly #options: VaultHttpOptions;

  constructor(options: VaultHttpOptions) {
    this.#options = options;
  }

  /** One call to `/v1/<path>`. Throws `backend_unavailable` when no reply came. */
  async call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    call: VaultCall = {},
  ): Promise<VaultReply> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-vault-request': 'true',
    };
    if (this.#options.namespace !== undefined) {
      headers['x-vault-namespace'] = this.#options.namespace;
    }
    const limit = deadline(this.#options.timeoutMs, call.signal);
    let body: Buffer | undefined;
    try {
      if (call.token !== undefined) {
        headers['x-vault-token'] = call.token.use((b) => b.toString('latin1'));
      }
      if (call.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = jsonBody(call.body);
      }
      const reply = await exchange({
        method,
        url: new URL(`${this.#options.address}/v1/${path}`),
        headers,
        body,
        signal: limit.signal,
        ca: this.#options.ca,
        maxBytes: MAX_REPLY_BYTES,
      });
      const json = JSON_TYPE.test(reply.headers['content-type'] ?? '')
        ? parseJsonObject(reply.body)
        : (reply.body?.fill(0), undefined);
      return { status: reply.status, json };
    } catch {
      throw new CredentialResolutionError(BackendReasons.unavailable);
    } finally {
      limit.clear();
      body?.fill(0);
    }
  }
}
