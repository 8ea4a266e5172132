/**
 * A client for the broker's HTTP API, as the CLI (and later the MCP bridge) uses it: every
 * request carries a fresh DPoP proof signed with the caller's did:key principal key.
 */
import type { PrincipalKey } from '../governance/did-key.js';
import { createDpopProof } from '../governance/dpop.js';
import type { AuthorizeInput, AuthorizeResult } from '../governance/authorize.js';
import type { AccordView, AcView } from '../governance/views.js';
import type { InvokeResponse } from '../connectors/session.js';
import type { ConnectorResult } from '../connectors/connector.js';
import type { ExecResult } from '../transports/types.js';
import type { AuditEntry } from '../base/audit-records.js';
import { BastionError } from '../base/errors.js';
import type { BackendHealth } from '../credentials/health.js';

/** The broker answered with an error; `code` and `message` are the broker's. */
export class BrokerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export class BrokerUnreachableError extends BastionError {
  constructor() {
    super('broker_unreachable');
  }
}

export interface ClientOptions {
  /** Base URL of the broker, e.g. http://127.0.0.1:8443 */
  url: string;
  key: PrincipalKey;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

export class BastionClient {
  readonly #base: string;
  readonly #key: PrincipalKey;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#base = options.url.replace(/\/+$/, '');
    this.#key = options.key;
    this.#fetch = options.fetch ?? fetch;
  }

  get did(): string {
    return this.#key.did;
  }

  authorize(input: AuthorizeInput): Promise<AuthorizeResult> {
    return this.#call('POST', '/governance/authorize/', input);
  }

  /** The accords this key may request under, or hold delegated ACs of. */
  accords(): Promise<{ accords: AccordView[] }> {
    return this.#call('GET', '/governance/accords');
  }

  /** `comment`, optional, is shown to the requester. */
  approve(acId: string, comment?: string): Promise<AcView> {
    const path = `/governance/approvals/${encodeURIComponent(acId)}`;
    return this.#call('POST', path, comment === undefined ? undefined : { comment });
  }

  /** Denies a pending request for good; `comment`, optional, is shown to the requester. */
  deny(acId: string, comment?: string): Promise<AcView> {
    const path = `/governance/approvals/${encodeURIComponent(acId)}/deny`;
    return this.#call('POST', path, comment === undefined ? undefined : { comment });
  }

  revoke(acId: string): Promise<AcView> {
    return this.#call('POST', '/governance/revoke/', { ac_id: acId });
  }

  show(acId: string): Promise<AcView> {
    return this.#call('GET', `/governance/acs/${encodeURIComponent(acId)}`);
  }

  /** The caller's own ACs (requested by it, or delegated to its key), newest first; no tokens. */
  listAcs(limit?: number): Promise<{ acs: AcView[] }> {
    return this.#call('GET', `/governance/acs${limit !== undefined ? `?limit=${limit}` : ''}`);
  }

  /** Pending ACs this key may approve and has not. */
  awaitingApproval(limit?: number): Promise<{ acs: AcView[] }> {
    return this.#call(
      'GET',
      `/governance/approvals${limit !== undefined ? `?limit=${limit}` : ''}`,
    );
  }

  /** Every live AC (broker admins only; the web console's Live ACs view). */
  liveAcs(): Promise<{ acs: AcView[] }> {
    return this.#call('GET', '/governance/live');
  }

  /** Runs one operation under an AC (the token, as `acs show` returns it to its principal). */
  invoke<R extends ConnectorResult = ExecResult>(
    connector: string,
    ac: string,
    /** `operation` as the connector's schema says (src/connectors/<kind>/…). */
    body: { target: string; operation: unknown },
  ): Promise<InvokeResponse<R>> {
    return this.#call('POST', `/connectors/${encodeURIComponent(connector)}/invoke`, body, ac);
  }

  /** Audit entries: all for a broker admin, else the caller's own. */
  audit(query: { after?: number; limit?: number; ac_id?: string } = {}): Promise<{
    entries: AuditEntry[];
    next_after: number | null;
  }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.#call('GET', `/audit${qs ? `?${qs}` : ''}`);
  }

  /** Each credential backend's health and circuit state (broker admins only). */
  backendHealth(): Promise<{ backends: BackendHealth[] }> {
    return this.#call('GET', '/health/backends');
  }

  async #call<T>(method: string, path: string, body?: unknown, ac?: string): Promise<T> {
    const url = this.#base + path;
    const proof = await createDpopProof({
      privateKey: this.#key.privateKey,
      publicJwk: this.#key.publicJwk,
      method,
      url,
      accessToken: ac,
    });
    const headers: Record<string, string> = { dpop: proof, accept: 'application/json' };
    if (ac !== undefined) headers['authorization'] = `DPoP ${ac}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
      });
    } catch {
      throw new BrokerUnreachableError();
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      throw new BastionError('broker_bad_reply');
    }
    if (!response.ok) {
      const err = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
      throw new BrokerError(
        response.status,
        typeof err?.code === 'string' ? err.code : 'unknown_error',
        typeof err?.message === 'string' ? err.message : 'The broker refused the request',
      );
    }
    return parsed as T;
  }
}
