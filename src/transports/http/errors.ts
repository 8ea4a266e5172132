/**
 * The HTTP transport's one error class and its codes, so that every refusal and failure
 * reaches the caller as a BastionError with a fixed, catalogued message (neither the
 * caller's input nor the upstream's text is ever quoted).
 */
import { BastionError } from '../../base/errors.js';

export const HttpErrorCodes = {
  pathInvalid: 'http_path_invalid',
  headerInvalid: 'http_header_invalid',
  headerForbidden: 'http_header_forbidden',
  bodyTooLarge: 'http_body_too_large',
  destinationRefused: 'http_destination_refused',
  redirectRefused: 'http_redirect_refused',
  connectFailed: 'http_connect_failed',
  dnsFailed: 'http_dns_failed',
  clientCertificateUnusable: 'http_client_certificate_unusable',
} as const;

export type HttpErrorKind = keyof typeof HttpErrorCodes;

/** Every refusal and failure of the HTTP transport. */
export class HttpTransportError extends BastionError {
  constructor(kind: HttpErrorKind) {
    super(HttpErrorCodes[kind]);
  }
}

/**
 * True for a refusal by policy rather than a failure on the wire: a policy refusal is
 * reported even when the deadline has passed too, never hidden as a timeout.
 */
export function isPolicyRefusal(err: HttpTransportError): boolean {
  return err.code !== HttpErrorCodes.connectFailed && err.code !== HttpErrorCodes.dnsFailed;
}
