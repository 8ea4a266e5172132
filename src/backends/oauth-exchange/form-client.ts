/**
 * The broker as an OAuth client of one authorization server: POSTs a form with client
 * authentication (a fresh private_key_jwt assertion per request, or client_secret_basic),
 * under a time limit, following no redirect, and reads at most MAX_REPLY_BYTES of a JSON
 * reply. Request and reply bytes are zero-filled once used; network failures are
 * `backend_unavailable`.
 */
import { type Clock } from '../../base/clock.js';
import { deadline } from '../../base/deadline.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import {
  CLIENT_ASSERTION_TYPE,
  type ClientAuth,
  signClientAssertion,
} from '../oauth/assertions.js';
import { MAX_REPLY_BYTES, parseJsonObject } from '../oauth/reply.js';
import { basicAuthorization, type FormFields, type FormValue, formBody } from './form.js';

export interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown> | undefined;
}

export interface FormClientOptions {
  readonly clientId: string;
  readonly clientAuth: ClientAuth;
  /** The audience of client assertions: the token endpoint. */
  readonly assertionAudience: string;
  readonly clock: Clock;
  readonly fetch: typeof fetch;
  /** Per-request time limit. */
  readonly timeoutMs: number;
}

export class FormClient {
  readonly #options: FormClientOptions;

  constructor(options: FormClientOptions) {
    this.#options = options;
  }

  /**
   * POSTs a form with client authentication (and `extra` headers, e.g. a DPoP proof);
   * network failures are `backend_unavailable`.
   */
  async post(
    url: string,
    fields: FormFields,
    signal?: AbortSignal,
    extra?: Readonly<Record<string, string>>,
  ): Promise<Reply> {
    const { clientId, clientAuth: auth } = this.#options;
    const headers: Record<string, string> = {
      ...extra,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const all: (readonly [string, FormValue])[] = [...fields];
    if (auth.method === 'private_key_jwt') {
      all.push(
        ['client_id', clientId],
        ['client_assertion_type', CLIENT_ASSERTION_TYPE],
        [
          'client_assertion',
          await signClientAssertion({
            signer: auth.signer(),
            clientId,
            audience: this.#options.assertionAudience,
            now: this.#options.clock.now(),
          }),
        ],
      );
    } else {
      // The header must be a string; this is the client secret's one JS-string copy.
      headers['authorization'] = basicAuthorization(clientId, auth.secret);
    }
    const body = formBody(all);
    const limit = deadline(this.#options.timeoutMs, signal);
    try {
      const response = await this.#options.fetch(url, {
        method: 'POST',
        headers,
        body,
        // A redirect would send the client's credentials somewhere else.
        redirect: 'error',
        signal: limit.signal,
      });
      const bytes = await readCapped(response, MAX_REPLY_BYTES);
      return { status: response.status, json: jsonOf(response, bytes) };
    } catch {
      throw new CredentialResolutionError(BackendReasons.unavailable);
    } finally {
      limit.clear();
      body.fill(0);
    }
  }
}

async function readCapped(response: Response, max: number): Promise<Buffer | undefined> {
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > max) return undefined;
      chunks.push(Buffer.from(chunk));
      chunk.fill(0);
    }
    return Buffer.concat(chunks, total);
  } finally {
    for (const chunk of chunks) chunk.fill(0);
  }
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;

/** A JSON object from a JSON reply, or undefined; the raw bytes are zero-filled. */
function jsonOf(
  response: Response,
  bytes: Buffer | undefined,
): Record<string, unknown> | undefined {
  if (!JSON_TYPE.test(response.headers.get('content-type') ?? '')) {
    bytes?.fill(0);
    return undefined;
  }
  return parseJsonObject(bytes);
}
