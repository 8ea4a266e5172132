/**
 * Kerberos numbers the messages use, named once: protocol version and message types
 * (RFC 4120 §5.10), PA-DATA types (RFC 4120 §7.5.2, MS-SFU, MS-KILE), key usages
 * (RFC 4120 §7.5.1, MS-SFU), and the flag bits of KDCOptions, TicketFlags and APOptions
 * (RFC 4120 §5.4.1, §5.3, §5.5.1; MS-SFU's cname-in-addl-tkt). Bit n of a KerberosFlags
 * is the n-th bit from the most significant end of its 32 bits.
 */

export const PVNO = 5;

export const MSG_TYPE = {
  as_req: 10,
  as_rep: 11,
  tgs_req: 12,
  tgs_rep: 13,
  ap_req: 14,
  ap_rep: 15,
  krb_cred: 22,
  krb_error: 30,
} as const;

/** The [APPLICATION n] tags of the parts that are not messages themselves. */
export const APPLICATION_TAG = {
  ticket: 1,
  authenticator: 2,
  enc_ticket_part: 3,
  enc_as_rep_part: 25,
  enc_tgs_rep_part: 26,
  enc_ap_rep_part: 27,
  enc_krb_cred_part: 29,
} as const;

export const PADATA_TYPE = {
  tgs_req: 1,
  enc_timestamp: 2,
  etype_info2: 19,
  pac_request: 128,
  for_user: 129,
  s4u_x509_user: 130,
  pac_options: 167,
} as const;

export const KEY_USAGE = {
  as_req_pa_enc_timestamp: 1,
  kdc_rep_ticket: 2,
  as_rep_enc_part: 3,
  tgs_req_ad_session_key: 4,
  tgs_req_authenticator_cksum: 6,
  tgs_req_authenticator: 7,
  tgs_rep_enc_part_session_key: 8,
  tgs_rep_enc_part_sub_key: 9,
  ap_req_authenticator_cksum: 10,
  ap_req_authenticator: 11,
  ap_rep_enc_part: 12,
  krb_cred_enc_part: 14,
  /** MS-SFU §2.2.1: KERB_NON_KERB_CKSUM_SALT, PA-FOR-USER's checksum. */
  pa_for_user_cksum: 17,
} as const;

/** The mask of bit `n` of a 32-bit KerberosFlags. */
export const bit = (n: number): number => 2 ** (31 - n);

export const KDC_OPTION = {
  forwardable: bit(1),
  forwarded: bit(2),
  proxiable: bit(3),
  proxy: bit(4),
  allow_postdate: bit(5),
  postdated: bit(6),
  renewable: bit(8),
  /** MS-SFU: S4U2Proxy, the evidence ticket is in additional-tickets. */
  cname_in_addl_tkt: bit(14),
  canonicalize: bit(15),
  disable_transited_check: bit(26),
  renewable_ok: bit(27),
  enc_tkt_in_skey: bit(28),
  renew: bit(30),
  validate: bit(31),
} as const;

export const TICKET_FLAG = {
  forwardable: bit(1),
  forwarded: bit(2),
  proxiable: bit(3),
  proxy: bit(4),
  may_postdate: bit(5),
  postdated: bit(6),
  invalid: bit(7),
  renewable: bit(8),
  initial: bit(9),
  pre_authent: bit(10),
  hw_authent: bit(11),
  transited_policy_checked: bit(12),
  ok_as_delegate: bit(13),
  enc_pa_rep: bit(15),
} as const;

export const AP_OPTION = {
  use_session_key: bit(1),
  mutual_required: bit(2),
} as const;

/** The flags of `names` combined, e.g. `flags(KDC_OPTION, 'forwardable', 'canonicalize')`. */
export function flags<T extends Record<string, number>>(table: T, ...names: (keyof T)[]): number {
  return names.reduce((acc, n) => (acc | (table[n] ?? 0)) >>> 0, 0);
}

/** True when every bit of `mask` is set in `value`. */
export function hasFlags(value: number, mask: number): boolean {
  return (value & mask) >>> 0 === mask >>> 0;
}
