/**
 * What both OAuth backends read from an authorization server's reply besides the token:
 * the size limit, the JSON object (its bytes zero-filled once parsed), the `error` code
 * that may be logged, and the backend reason an HTTP status maps to.
 */
import { type BackendReason, BackendReasons } from '../../credentials/errors.js';

/** Reply bodies an OAuth backend reads at most: a token reply is a few kilobytes. */
export const MAX_REPLY_BYTES = 64 * 1024;

/** An authorization server's `error` code, logged only when it has this shape. */
const ERROR_CODE = /^[a-z_]{1,64}$/;

/** The `error` of an OAuth error reply, when it is a plain code: never its description. */
export function errorCodeOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const code = (json as Record<string, unknown>)['error'];
  return typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;
}

/**
 * The reason a refusal with this status gives: the server said no (400, 401, 403), or it
 * cannot answer now (429, 5xx); undefined for any other status.
 */
export function statusReason(status: number | undefined): BackendReason | undefined {
  if (status === 400 || status === 401 || status === 403) return BackendReasons.denied;
  if (status !== undefined && (status === 429 || status >= 500)) return BackendReasons.unavailable;
  return undefined;
}

/** A JSON object from reply bytes, or undefined; the bytes are zero-filled either way. */
export function parseJsonObject(bytes: Buffer | undefined): Record<string, unknown> | undefined {
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  } finally {
    bytes.fill(0);
  }
}
