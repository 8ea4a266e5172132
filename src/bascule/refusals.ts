/**
 * The runtime's own refusals of a request: a grant missing, replayed, too long-lived, for
 * another target or without the exec capability, a command the grant's policy denies, or
 * too many live grants to remember. Their statuses and messages are in the error catalog.
 */
import { BastionError } from '../base/errors.js';

/** A grant lives at most this long (exp − iat); the broker mints 60 s or less. */
export const MAX_GRANT_LIFETIME_SECONDS = 60;

export type BasculeRefusalCode =
  | 'bascule_grant_missing'
  | 'bascule_grant_replayed'
  | 'bascule_grant_lifetime'
  | 'bascule_wrong_target'
  | 'bascule_capability_missing'
  | 'bascule_command_denied'
  | 'bascule_busy';

export class BasculeRefusalError extends BastionError {
  declare readonly code: BasculeRefusalCode;

  constructor(code: BasculeRefusalCode) {
    super(
      code,
      code === 'bascule_grant_lifetime' ? { details: [String(MAX_GRANT_LIFETIME_SECONDS)] } : {},
    );
  }
}
