/**
 * Authentication failures (HTTP 401): a missing or bad DPoP proof, or an AC that does not
 * verify. One code per rule, each with a fixed message, so a caller can tell what to fix
 * while nothing of the token or proof is ever echoed.
 */
import { BastionError, defineErrorCode } from '../errors.js';

const MESSAGES = {
  dpop_missing: 'A DPoP proof is required',
  dpop_invalid: 'The DPoP proof is malformed or its signature does not verify',
  dpop_htm_mismatch: 'The DPoP proof is for another HTTP method',
  dpop_htu_mismatch: 'The DPoP proof is for another URL',
  dpop_iat_out_of_window: 'The DPoP proof is too old or from the future',
  dpop_replayed: 'The DPoP proof was already used',
  dpop_ath_missing: 'The DPoP proof does not bind the access token (ath)',
  dpop_ath_mismatch: 'The DPoP proof binds another access token',
  dpop_key_mismatch: 'The DPoP proof key is not the key the token is bound to',
  dpop_key_not_did: 'The DPoP proof key is not an Ed25519 did:key principal key',
  ac_missing: 'An authorization context is required',
  ac_malformed: 'The authorization context is malformed',
  ac_alg_not_allowed: 'The authorization context uses an algorithm that is not allowed',
  ac_unknown_key: 'The authorization context is signed by an unknown key',
  ac_bad_signature: 'The authorization context signature does not verify',
  ac_claims_invalid: 'The authorization context claims are invalid',
  ac_wrong_issuer: 'The authorization context is from another issuer',
  ac_wrong_audience: 'The authorization context is for another audience',
  ac_not_yet_valid: 'The authorization context is not valid yet',
  ac_revoked: 'The authorization context has been revoked',
} as const;

export type AuthCode = keyof typeof MESSAGES | 'ac_expired';

for (const code of Object.keys(MESSAGES)) defineErrorCode(code);

export class AuthenticationError extends BastionError {
  declare readonly code: AuthCode;

  constructor(code: AuthCode) {
    const message =
      code === 'ac_expired' ? 'The authorization context has expired' : MESSAGES[code];
    super(code, message, 401);
  }
}
