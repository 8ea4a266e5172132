/**
 * The one error hierarchy. Every error Bastion raises on purpose is a BastionError whose
 * `code` is declared in the catalog (error-catalog.ts), which also fixes its HTTP status and
 * message. Messages never interpolate tokens, keys, request bodies or a peer's error text,
 * so any error may be logged or returned as is. Anything that is not a BastionError becomes
 * a generic `internal_error` at the edge, without detail.
 */
import { ERROR_CATALOG, type ErrorCode } from './error-catalog.js';

export type { ErrorCode } from './error-catalog.js';

/** True for a code the catalog declares; foreign text never passes. */
export function isKnownErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && ERROR_CATALOG.has(code);
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export interface BastionErrorOptions {
  /**
   * Values for the `{}` of the catalog message, in order: names chosen by Bastion's code
   * (a field, a path, a backend id), never input.
   */
  readonly details?: readonly string[];
  readonly cause?: unknown;
}

function messageFor(code: string, details: readonly string[]): string {
  const spec = ERROR_CATALOG.get(code);
  if (spec === undefined) throw new TypeError('undeclared error code');
  const parts = spec.message.split('{}');
  if (parts.length - 1 !== details.length) throw new TypeError(`wrong details for ${code}`);
  return parts.reduce((out, part, i) => out + (i === 0 ? '' : (details[i - 1] ?? '')) + part, '');
}

export class BastionError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, options: BastionErrorOptions = {}) {
    super(messageFor(code, options.details ?? []), { cause: options.cause });
    if (options.cause === undefined) delete this.cause;
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CATALOG.get(code)?.status ?? 500;
  }

  /** Extra response headers this error calls for (Retry-After, say); none by default. */
  httpHeaders(): Readonly<Record<string, string>> {
    return {};
  }

  toResponse(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  /** The cause may carry a peer's text; keep it out of JSON and inspect output by default. */
  toJSON(): ErrorBody['error'] {
    return { code: this.code, message: this.message };
  }
}

export class InternalError extends BastionError {
  constructor(options?: { cause?: unknown }) {
    super('internal_error', options);
  }
}

/** Bad input from a caller. `what` must be a name chosen by Bastion's code, never input. */
export class InvalidArgumentError extends BastionError {
  constructor(what: string) {
    super('invalid_argument', { details: [what] });
  }
}

/** Bad configuration, found at start. `where` and `why` are written by Bastion's code. */
export class ConfigError extends BastionError {
  constructor(where: string, why: string) {
    super('invalid_config', { details: [where, why] });
  }
}

/**
 * The AC's lifetime is over, wherever that is found: verifying the token, resolving a
 * credential for it, or the MCP bridge looking at its status. One class for one code.
 */
export class AcExpiredError extends BastionError {
  constructor() {
    super('ac_expired');
  }
}

/**
 * Maps any thrown value to the body and status the edge returns. Unknown errors are a
 * generic 500: their text may hold anything.
 */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof BastionError) return { status: err.status, body: err.toResponse() };
  const internal = new InternalError();
  return { status: internal.status, body: internal.toResponse() };
}
