/**
 * The one error hierarchy. Every error Bastion raises on purpose is a BastionError with a
 * stable snake_case `code` and the HTTP status the edge maps it to. Messages are fixed text
 * written by Bastion: they never interpolate tokens, keys, request bodies or a peer's error
 * text, so any error may be logged or returned as is. Anything that is not a BastionError
 * becomes a generic `internal_error` at the edge, without detail.
 */

const KNOWN_CODES = new Set<string>();
const CODE_PATTERN = /^[a-z][a-z0-9_]{1,63}$/;

/** Registers a code so that `isKnownErrorCode` can vouch for it; codes are declared once. */
function declareCode(code: string): string {
  if (!CODE_PATTERN.test(code)) throw new TypeError('error codes are snake_case');
  KNOWN_CODES.add(code);
  return code;
}

/** True for a code some Bastion error class declared; foreign text never passes. */
export function isKnownErrorCode(code: unknown): code is string {
  return typeof code === 'string' && KNOWN_CODES.has(code);
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export class BastionError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    if (!KNOWN_CODES.has(code)) throw new TypeError('undeclared error code');
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }

  toResponse(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  /** The cause may carry a peer's text; keep it out of JSON and inspect output by default. */
  toJSON(): ErrorBody['error'] {
    return { code: this.code, message: this.message };
  }
}

export const ErrorCodes = {
  internal: declareCode('internal_error'),
  invalidArgument: declareCode('invalid_argument'),
  invalidConfig: declareCode('invalid_config'),
  unsupportedCredentialType: declareCode('unsupported_credential_type'),
  noBackendAvailable: declareCode('no_backend_available'),
  credentialResolutionFailed: declareCode('credential_resolution_failed'),
  secretDisposed: declareCode('secret_disposed'),
  acExpired: declareCode('ac_expired'),
  scopeMismatch: declareCode('scope_mismatch'),
} as const;

/** Declares an extra code for a module that defines its own error classes. */
export function defineErrorCode(code: string): string {
  return declareCode(code);
}

export class InternalError extends BastionError {
  constructor(options?: { cause?: unknown }) {
    super(ErrorCodes.internal, 'Internal server error', 500, options);
  }
}

/** Bad input from a caller. `what` must be a name chosen by Bastion's code, never input. */
export class InvalidArgumentError extends BastionError {
  constructor(what: string) {
    super(ErrorCodes.invalidArgument, `Invalid ${what}`, 400);
  }
}

/** Bad configuration, found at start. `where` and `why` are written by Bastion's code. */
export class ConfigError extends BastionError {
  constructor(where: string, why: string) {
    super(ErrorCodes.invalidConfig, `Invalid configuration at ${where}: ${why}`, 500);
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
