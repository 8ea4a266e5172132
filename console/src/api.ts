/**
 * The broker's public API as the console calls it: each request carries a fresh DPoP
 * proof (RFC 9449) signed by the person's key, made as the CLI makes it
 * (src/client/client.ts): htm, htu = the broker's public URL + path, iat, jti. The public
 * URL is the one /openapi.json names, so a console behind a proxy signs what the broker
 * checks. Requests go to this origin only (CSP connect-src 'self').
 */
import { base64url } from './did-key.js';
import type { Identity } from './keys.js';

/** The broker's refusal: its code and fixed message (never echoing input). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextEncoder();

/** The parts of /openapi.json the console reads. */
interface ApiDocument {
  servers?: { url?: string }[];
  paths?: Record<
    string,
    Record<string, { parameters?: { name?: string; schema?: { enum?: unknown[] } }[] }>
  >;
}
let apiDoc: Promise<ApiDocument> | undefined;

/** The broker's own description of its API, fetched once. */
function apiDocument(): Promise<ApiDocument> {
  apiDoc ??= fetch('/openapi.json', { headers: { accept: 'application/json' } }).then(
    (r) => r.json() as Promise<ApiDocument>,
  );
  return apiDoc;
}

function brokerUrl(): Promise<string> {
  return apiDocument().then((doc) =>
    (doc.servers?.[0]?.url ?? location.origin).replace(/\/+$/, ''),
  );
}

/**
 * The values a query parameter of a GET operation takes, as the API declares them (so the
 * console's choices never drift from the broker's, e.g. the audit entry types).
 */
export async function queryEnum(path: string, name: string): Promise<string[]> {
  const parameters = (await apiDocument()).paths?.[path]?.['get']?.parameters ?? [];
  const values = parameters.find((p) => p.name === name)?.schema?.enum ?? [];
  return values.filter((v): v is string => typeof v === 'string');
}

function segment(value: unknown): string {
  return base64url(utf8.encode(JSON.stringify(value)));
}

async function proof(me: Identity, method: string, path: string): Promise<string> {
  const htu = (await brokerUrl()) + path.replace(/[?#].*$/, '');
  const header = segment({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: me.jwk });
  const iat = Math.floor(Date.now() / 1000);
  const claims = segment({ htm: method, htu, iat, jti: crypto.randomUUID() });
  const input = `${header}.${claims}`;
  const signature = await crypto.subtle.sign('Ed25519', me.privateKey, utf8.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** Calls the API; the parsed JSON reply, or throws ApiError with the broker's code. */
export async function call<T>(me: Identity, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = {
    dpop: await proof(me, method, path),
    accept: 'application/json',
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    redirect: 'error',
    credentials: 'omit',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const parsed = (await response.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string };
  };
  if (!response.ok) {
    throw new ApiError(
      response.status,
      parsed.error?.code ?? 'unknown_error',
      parsed.error?.message ?? 'The broker refused the request',
    );
  }
  return parsed as T;
}

/** The audit export: JSON Lines, as the API gives it to `Accept: application/x-ndjson`. */
export async function callText(me: Identity, path: string): Promise<string> {
  const response = await fetch(path, {
    headers: { dpop: await proof(me, 'GET', path), accept: 'application/x-ndjson' },
    redirect: 'error',
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) throw new ApiError(response.status, 'export_failed', 'Export failed');
  return response.text();
}
