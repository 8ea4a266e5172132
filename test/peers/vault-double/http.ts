/**
 * The Vault double's HTTP frame, as Vault's API documents it: every route under `/v1/`,
 * JSON bodies (a PUT is a POST), replies in Vault's envelope, errors as
 * `{"errors": [...]}` with Vault's statuses, `X-Vault-Token` and `X-Vault-Namespace`.
 * https://developer.hashicorp.com/vault/api-docs#http-status-codes
 * https://developer.hashicorp.com/vault/api-docs#namespaces
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors.join('; '));
  }
}

export const permissionDenied = (): VaultError => new VaultError(403, ['permission denied']);
export const badRequest = (message: string): VaultError => new VaultError(400, [message]);
export const notFound = (path: string): VaultError =>
  new VaultError(404, [`no handler for route "${path}". route entry not found.`]);

/** A request as the routes see it. */
export interface VaultRequest {
  readonly method: 'GET' | 'POST' | 'LIST' | 'DELETE';
  /** Without `/v1/`. */
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly token: string | undefined;
  readonly namespace: string;
}

/** What a route answers: a JSON value (200), nothing (204), or text. */
export type Answer =
  | { readonly json: unknown; readonly status?: number }
  | { readonly empty: true }
  | { readonly text: string };

/** Vault's envelope of a secret or auth reply. */
export function envelope(fields: {
  data?: unknown;
  auth?: unknown;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
}): Answer {
  return {
    json: {
      request_id: randomUUID(),
      lease_id: fields.lease_id ?? '',
      renewable: fields.renewable ?? false,
      lease_duration: fields.lease_duration ?? 0,
      data: fields.data ?? null,
      wrap_info: null,
      warnings: null,
      auth: fields.auth ?? null,
    },
  };
}

/** The body: JSON, as Vault parses it (an empty body is no parameters). */
export async function readRequest(req: IncomingMessage): Promise<VaultRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  let body: Record<string, unknown> = {};
  if (raw.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      body = parsed as Record<string, unknown>;
    } catch {
      throw badRequest('failed to parse JSON input');
    }
  }
  const url = new URL(req.url ?? '/', 'http://vault');
  if (!url.pathname.startsWith('/v1/')) throw notFound(url.pathname);
  const verb = (req.method ?? 'GET').toUpperCase();
  // A PUT is a POST to Vault; a HEAD is a GET whose body Node leaves out.
  const method = verb === 'PUT' ? 'POST' : verb === 'HEAD' ? 'GET' : verb;
  if (method !== 'GET' && method !== 'POST' && method !== 'LIST' && method !== 'DELETE') {
    throw new VaultError(405, ['unsupported operation']);
  }
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return {
    method,
    path: url.pathname.slice(4).replace(/\/+$/, ''),
    body,
    token: header('x-vault-token'),
    namespace: (header('x-vault-namespace') ?? '').replace(/^\/+|\/+$/g, ''),
  };
}

export function send(res: ServerResponse, answer: Answer | VaultError): void {
  if (answer instanceof VaultError) {
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: answer.errors }));
  } else if ('empty' in answer) {
    res.writeHead(204).end();
  } else if ('text' in answer) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(answer.text);
  } else {
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.json));
  }
}

/** Vault's duration parameters: whole seconds, or a Go-style duration ("90s", "5m", "1h"). */
export function durationSeconds(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value !== 'string') throw badRequest('invalid duration');
  if (/^\d+$/.test(value)) return Number(value);
  const m = /^(\d+)(s|m|h)$/.exec(value);
  if (m === null) throw badRequest('invalid duration');
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

/** A string parameter; Vault's framework takes null as absent. */
export function stringParam(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw badRequest(`invalid value for ${name}`);
  return value;
}
