/**
 * What a KDC answered: a KDC-REP of the expected kind, or a KRB-ERROR mapped to one of
 * Bastion's stable codes. The mapping is by error code only — the KDC's e-text is a peer's
 * text and never reaches a message or a log. Codes with no meaning of their own for the
 * broker become `kerberos_kdc_error`.
 */
import { BastionError } from '../../base/errors.js';
import type { ErrorCode } from '../../base/error-catalog.js';
import { MSG_TYPE } from '../messages/constants.js';
import { decodeKdcRep, type KdcRep } from '../messages/kdc-rep.js';
import { decodeKrbError, KRB_ERROR_CODE, type KrbError } from '../messages/krb-error.js';

const E = KRB_ERROR_CODE;

/** Bastion's code for a KDC's error code, in the exchange named by `step`. */
export function codeForKrbError(
  errorCode: number,
  step: 'as' | 'tgs' | 's4u2self' | 's4u2proxy',
): ErrorCode {
  switch (errorCode) {
    case E.KRB_AP_ERR_SKEW:
      return 'kerberos_clock_skew';
    case E.KDC_ERR_C_PRINCIPAL_UNKNOWN:
      return step === 'as' ? 'kerberos_service_unknown' : 'kerberos_principal_unknown';
    case E.KDC_ERR_S_PRINCIPAL_UNKNOWN:
      return 'kerberos_service_unknown';
    case E.KDC_ERR_PREAUTH_FAILED:
    case E.KRB_AP_ERR_BAD_INTEGRITY:
      return 'kerberos_preauth_failed';
    case E.KDC_ERR_BADOPTION:
    case E.KDC_ERR_POLICY:
      return step === 's4u2proxy' ? 'kerberos_delegation_refused' : 'kerberos_kdc_error';
    default:
      return 'kerberos_kdc_error';
  }
}

/** Where a KRB-ERROR came in answer: to the caller, for an error or a retry decision. */
export class KdcRefusal extends BastionError {
  constructor(
    readonly krbError: KrbError,
    code: ErrorCode,
  ) {
    super(code);
  }
}

const tagOf = (bytes: Uint8Array): number | undefined => {
  const first = bytes[0];
  // [APPLICATION n] constructed, low tag number: 0x60 | n.
  return first !== undefined && (first & 0xe0) === 0x60 ? first & 0x1f : undefined;
};

/**
 * The KDC-REP of `msgType` in `bytes`; a KRB-ERROR is thrown as a KdcRefusal with its
 * mapped code, anything else is `kerberos_kdc_reply_malformed` (or a DER code).
 */
export function readKdcReply(
  bytes: Uint8Array,
  msgType: typeof MSG_TYPE.as_rep | typeof MSG_TYPE.tgs_rep,
  step: 'as' | 'tgs' | 's4u2self' | 's4u2proxy',
): KdcRep {
  const tag = tagOf(bytes);
  if (tag === MSG_TYPE.krb_error) {
    const err = decodeKrbError(bytes);
    throw new KdcRefusal(err, codeForKrbError(err.errorCode, step));
  }
  if (tag !== msgType) throw new BastionError('kerberos_kdc_reply_malformed');
  const rep = decodeKdcRep(bytes);
  if (rep.msgType !== msgType) throw new BastionError('kerberos_kdc_reply_malformed');
  return rep;
}
