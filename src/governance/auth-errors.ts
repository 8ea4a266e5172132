/**
 * Authentication failures (HTTP 401): a missing or bad DPoP proof, or an AC that does not
 * verify. One code per rule (messages in the error catalog), so a caller can tell what to
 * fix while nothing of the token or proof is ever echoed. An expired AC is AcExpiredError.
 */
import { BastionError } from '../base/errors.js';

export type AuthCode =
  | 'dpop_missing'
  | 'dpop_invalid'
  | 'dpop_htm_mismatch'
  | 'dpop_htu_mismatch'
  | 'dpop_iat_out_of_window'
  | 'dpop_replayed'
  | 'dpop_ath_missing'
  | 'dpop_ath_mismatch'
  | 'dpop_key_mismatch'
  | 'dpop_key_not_did'
  | 'ac_missing'
  | 'ac_malformed'
  | 'ac_alg_not_allowed'
  | 'ac_unknown_key'
  | 'ac_bad_signature'
  | 'ac_claims_invalid'
  | 'ac_wrong_issuer'
  | 'ac_wrong_audience'
  | 'ac_not_yet_valid'
  | 'ac_revoked';

/**
 * A caller whose key no accord and no admin list names: refused before anything about it
 * is written (no replay-cache row, no audit row), so fresh keys cost the broker nothing.
 */
export class UnknownPrincipalError extends BastionError {
  constructor() {
    super('principal_unknown');
  }
}

export class AuthenticationError extends BastionError {
  declare readonly code: AuthCode;

  /** `details` fill the catalog message's `{}`: only what the broker chose, never input. */
  constructor(code: AuthCode, details?: readonly string[]) {
    super(code, details === undefined ? {} : { details });
  }
}
