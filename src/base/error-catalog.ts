/* eslint-disable max-lines -- one list by design: every code in one place (see the header) */
/**
 * Every error code Bastion answers with, declared once: its HTTP status and its fixed
 * message. Codes are API — callers branch on them — so a code is added here, never
 * renamed, and never declared anywhere else. A `{}` in a message is filled by Bastion's own
 * code (a field name, a file path, a backend id), never with input; `BastionError` checks
 * that every `{}` gets exactly one value.
 */

/** One entry: code, HTTP status, message. */
export type CatalogEntry = readonly [code: string, status: number, message: string];

export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

const CODE_PATTERN = /^[a-z][a-z0-9_]{1,63}$/;

/**
 * Builds a catalog from its entries; a code declared twice, a code that is not snake_case
 * or a status outside 400–599 throws, so a bad catalog stops the process at start.
 */
export function buildCatalog(entries: readonly CatalogEntry[]): ReadonlyMap<string, ErrorSpec> {
  const catalog = new Map<string, ErrorSpec>();
  for (const [code, status, message] of entries) {
    if (!CODE_PATTERN.test(code)) throw new TypeError(`error code ${code} is not snake_case`);
    if (catalog.has(code)) throw new TypeError(`error code ${code} is declared twice`);
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new TypeError(`error code ${code} has no error status`);
    catalog.set(code, { status, message });
  }
  return catalog;
}

const ENTRIES = [
  // General
  ['internal_error', 500, 'Internal server error'],
  ['invalid_argument', 400, 'Invalid {}'],
  ['invalid_config', 500, 'Invalid configuration at {}: {}'],

  // The HTTP edge (the broker, the Bascule runtime and the MCP bridge over HTTP)
  ['malformed_json', 400, 'Request body is not valid JSON'],
  ['invalid_request', 400, 'Invalid request: {}'],
  ['payload_too_large', 413, 'Request body too large'],
  ['unsupported_media_type', 415, 'Content-Type must be application/json'],
  ['not_found', 404, 'Not found'],
  ['method_not_allowed', 405, 'Method not allowed'],
  ['bad_request', 400, 'The request is not valid HTTP'],
  ['malformed_url', 400, 'The request URL is not valid'],
  ['url_too_long', 414, 'A path segment of the request URL is too long'],
  ['request_timeout', 408, 'The request did not arrive in time'],
  ['headers_too_large', 431, 'The request headers are too large'],
  ['rate_limited', 429, 'Too many requests; slow down'],
  ['mcp_unauthorized', 401, 'A valid bearer token is required'],
  // DNS rebinding: a page in a browser must not reach the bridge through a name it controls
  ['mcp_origin_refused', 403, 'Requests from this Origin are not accepted'],
  ['mcp_host_refused', 403, 'The Host header names no address this bridge serves'],

  // Credentials and their resolution
  ['unsupported_credential_type', 400, 'Unsupported credential type'],
  ['no_backend_available', 503, "No credential backend supports type '{}'"],
  ['credential_resolution_failed', 502, 'No credential backend could issue the credential: {}'],
  ['secret_disposed', 500, 'Secret used after dispose'],
  ['scope_mismatch', 403, 'The authorization context does not cover this target'],

  // Authentication: the DPoP proof and the AC (401)
  ['dpop_missing', 401, 'A DPoP proof is required'],
  ['dpop_invalid', 401, 'The DPoP proof is malformed or its signature does not verify'],
  ['dpop_htm_mismatch', 401, 'The DPoP proof is for another HTTP method'],
  [
    'dpop_htu_mismatch',
    401,
    'The DPoP proof is for another URL: this broker is reached at {} (htu is that and the path)',
  ],
  ['dpop_iat_out_of_window', 401, 'The DPoP proof is too old or from the future'],
  ['dpop_replayed', 401, 'The DPoP proof was already used'],
  ['dpop_ath_missing', 401, 'The DPoP proof does not bind the access token (ath)'],
  ['dpop_ath_mismatch', 401, 'The DPoP proof binds another access token'],
  ['dpop_key_mismatch', 401, 'The DPoP proof key is not the key the token is bound to'],
  ['dpop_key_not_did', 401, 'The DPoP proof key is not an Ed25519 did:key principal key'],
  ['ac_missing', 401, 'An authorization context is required'],
  ['ac_malformed', 401, 'The authorization context is malformed'],
  ['ac_alg_not_allowed', 401, 'The authorization context uses an algorithm that is not allowed'],
  ['ac_unknown_key', 401, 'The authorization context is signed by an unknown key'],
  ['ac_bad_signature', 401, 'The authorization context signature does not verify'],
  ['ac_claims_invalid', 401, 'The authorization context claims are invalid'],
  ['ac_wrong_issuer', 401, 'The authorization context is from another issuer'],
  ['ac_wrong_audience', 401, 'The authorization context is for another audience'],
  ['ac_not_yet_valid', 401, 'The authorization context is not valid yet'],
  ['ac_expired', 401, 'The authorization context has expired'],
  ['ac_revoked', 401, 'The authorization context has been revoked'],

  // Policy: what an accord refuses at authorize (403)
  ['unknown_accord', 403, 'No such accord'],
  ['principal_not_allowed', 403, 'The accord does not allow this principal'],
  ['connector_not_allowed', 403, 'The accord does not allow this connector'],
  ['target_not_allowed', 403, 'The accord does not allow this target'],
  [
    'target_address_refused',
    403,
    'The target is a link-local, metadata or unspecified host that the accord does not name exactly',
  ],
  ['capability_not_granted', 403, 'The accord does not grant the requested capabilities'],
  ['duration_exceeds_max', 403, "The requested duration exceeds the accord's maximum"],
  ['outside_time_window', 403, "The request falls outside the accord's time windows"],
  ['delegation_not_allowed', 403, 'The accord does not allow delegating to this agent'],

  // Governance: approvals, revocation, lookups
  ['ac_not_found', 404, 'No such authorization context'],
  ['not_an_approver', 403, 'Only an approver of the accord may approve'],
  ['self_approval_not_allowed', 403, 'A principal cannot approve its own request'],
  ['ac_not_pending', 409, 'The authorization context is not awaiting approval'],
  ['already_approved', 409, 'This approver has already approved'],
  ['not_allowed_to_revoke', 403, 'Only the principal or an admin may revoke'],
  ['admin_required', 403, 'Only a broker admin may do this'],
  ['ac_already_revoked', 409, 'The authorization context is already revoked'],

  // Governance: denying a pending request
  ['not_allowed_to_deny', 403, 'Only an approver of the accord may deny'],
  ['ac_denied', 403, 'An approver denied this request'],
  [
    'principal_unknown',
    403,
    'No accord or admin list names this key: ask an administrator to add it',
  ],
  [
    'accord_changed',
    403,
    'The accord this authorization context was issued under has changed: ask for a new one',
  ],

  // Store and audit
  ['ac_conflict', 409, 'An authorization context with this id already exists'],
  ['store_closed', 503, 'The store is closed'],
  ['store_unavailable', 503, 'The store is temporarily unavailable'],
  ['audit_unavailable', 503, 'The audit trail is unavailable'],
  ['audit_chain_conflict', 409, 'The audit entries do not follow the head of the stored trail'],
  ['store_writer_failed', 503, 'The store cannot write: its writer has stopped'],
  ['store_journal_failed', 503, 'The journal the store writes before committing failed'],
  [
    'signing_key_unwrap_failed',
    500,
    'The signing key in the database cannot be decrypted: the key-encryption key is wrong, or the stored key was altered',
  ],

  // Start-up: what the system refused, where, and its reason (an errno code and its text)
  ['listen_failed', 500, 'Cannot listen on {}: {}'],
  ['data_dir_unusable', 500, 'The data directory {} cannot be used: {}'],

  // Invocations: refused after the AC and proof verified (403), or not routable
  ['connector_unknown', 404, 'No such connector'],
  ['connector_mismatch', 403, 'The authorization context is for another connector'],
  ['target_mismatch', 403, 'The authorization context is for another target'],
  [
    'capability_missing',
    403,
    'The authorization context does not grant the capability this operation needs',
  ],
  ['command_not_allowed', 403, "The accord's command policy does not allow this command"],
  [
    'shell_syntax_not_allowed',
    403,
    'Under a command policy, give the command as argv, or without shell syntax (; & | $ ` < > ( ) { } and newlines)',
  ],
  ['path_not_allowed', 403, "The accord's path policy does not allow this method and path"],
  ['target_not_configured', 502, 'The broker has no endpoint configured for this target'],
  [
    'credential_scope_invalid',
    502,
    'The issued certificate does not match the scope of the authorization context',
  ],
  [
    'http_credential_invalid',
    502,
    'The issued credential is not of the kind this target takes, or not for this target',
  ],

  // WinRM (WS-Management): the target's replies, and the operation before any is sent
  [
    'winrm_operation_ambiguous',
    400,
    'A winrm operation gives exactly one of argv, command or powershell',
  ],
  ['winrm_text_unencodable', 400, 'The operation holds characters that XML cannot carry'],
  [
    'winrm_powershell_unclassifiable',
    403,
    'Under a command policy, the PowerShell script must be statically checkable: no dynamic invocation, method calls, unbalanced quotes or other constructs listed in docs/winrm.md',
  ],
  [
    'winrm_reply_malformed',
    502,
    'The WinRM target sent a reply that is not a WS-Management message Bastion can read',
  ],
  [
    'winrm_reply_too_large',
    502,
    'The WinRM target sent a reply larger than the envelope size Bastion asked for',
  ],
  ['winrm_encrypted_malformed', 502, 'The WinRM target sent a malformed encrypted body'],
  [
    'winrm_encrypted_length_mismatch',
    502,
    'The WinRM encrypted body does not hold the length it declares',
  ],
  ['winrm_fault', 502, 'The WinRM target answered with a SOAP fault'],
  ['winrm_access_denied', 502, 'The WinRM target refused access'],
  ['winrm_shell_not_found', 502, 'The WinRM target no longer knows the shell'],
  ['winrm_quota_exceeded', 503, 'The WinRM target refused: a shell or command quota is reached'],
  ['winrm_operation_timeout', 504, 'The WinRM target did not answer within the operation timeout'],
  // WinRM over HTTP: the connection, its Kerberos authentication and message encryption
  ['winrm_connect_failed', 502, 'The WinRM target could not be reached'],
  ['winrm_auth_refused', 502, 'The WinRM target refused the Kerberos authentication'],
  ['winrm_http_status', 502, 'The WinRM target answered with an unexpected HTTP status'],
  ['winrm_reply_unencrypted', 502, 'The WinRM target sent a reply that is not encrypted'],
  ['winrm_connection_lost', 502, 'The WinRM connection and its Kerberos context were lost'],

  // SSH transport (the target, or its credential, failed us)
  ['ssh_connect_failed', 502, 'SSH connection to the target failed'],
  ['ssh_host_key_unknown', 502, "The target's SSH host key is not in known_hosts"],
  ['ssh_host_key_mismatch', 502, "The target's SSH host key does not match known_hosts"],
  ['ssh_host_key_revoked', 502, "The target's SSH host key is revoked in known_hosts"],
  ['ssh_auth_failed', 502, 'The target refused the SSH certificate'],
  ['ssh_exec_failed', 502, 'Running the command over SSH failed'],
  ['ssh_credential_unusable', 502, 'The SSH credential is expired, disposed or malformed'],
  // SSH and WinRM: the target's name resolved to a refused address (transports/destination.ts)
  [
    'ssh_destination_refused',
    403,
    'The SSH target resolves to a link-local, metadata or unspecified address',
  ],
  [
    'winrm_destination_refused',
    403,
    'The WinRM target resolves to a link-local, metadata or unspecified address',
  ],

  // HTTP transport
  [
    'http_path_invalid',
    400,
    'The request path must start with /, stay under the target (no dot segments, encoded or not, no backslashes or control characters) and be at most 2048 characters',
  ],
  [
    'http_header_invalid',
    400,
    'Request headers must be valid names and values without CR, LF or NUL, at most 32 of them',
  ],
  [
    'http_header_forbidden',
    400,
    'Request headers must not include Authorization (set by the broker) or hop-by-hop and framing headers',
  ],
  ['http_body_too_large', 413, 'The request body exceeds the size limit'],
  [
    'http_destination_refused',
    403,
    'The target is, or resolves to, a link-local, metadata or unspecified address',
  ],
  ['http_redirect_refused', 502, 'The target redirected outside the target URL, or too many times'],
  ['http_connect_failed', 502, 'The HTTP request to the target failed'],
  ['http_dns_failed', 502, "The target's name could not be resolved"],
  [
    'http_client_certificate_unusable',
    502,
    'The client certificate cannot be used: its key does not fit it, or the target is not https',
  ],

  // The Bascule connector and runtime
  ['bascule_unreachable', 502, 'The Bascule runtime could not be reached'],
  ['bascule_refused', 502, 'The Bascule runtime refused the command'],
  ['bascule_grant_missing', 401, 'A Bascule grant is required (Authorization: Bearer)'],
  ['bascule_grant_replayed', 401, 'The grant was already used'],
  ['bascule_grant_lifetime', 401, 'The grant lives longer than {} seconds'],
  ['bascule_wrong_target', 403, 'The grant is not for this Bascule instance'],
  ['bascule_capability_missing', 403, 'The grant does not carry the exec capability'],
  ['bascule_command_denied', 403, 'The command policy does not allow this command'],
  ['bascule_busy', 503, 'Too many grants in flight; try again later'],
  ['bascule_audit_unavailable', 503, 'The audit log cannot be written'],
  [
    'bascule_audit_corrupt',
    500,
    'The audit file does not end with a valid entry; verify and repair it',
  ],
  ['bascule_argv_invalid', 400, 'The argv is empty, has an empty command or a NUL byte'],
  ['bascule_command_not_found', 404, 'The command was not found'],
  ['bascule_exec_failed', 500, 'The command could not be started'],
  ['bascule_jwks_unavailable', 503, "The broker's signing keys cannot be fetched"],

  // Kerberos in-process: crypto (RFC 3961/3962/8009), keytabs, DER messages (RFC 4120, MS-SFU)
  [
    'kerberos_unsupported_enctype',
    502,
    'The Kerberos encryption type is not supported (AES only: 17, 18, 19, 20)',
  ],
  ['kerberos_unsupported_checksum', 502, 'The Kerberos checksum type is not supported'],
  ['kerberos_key_invalid', 500, 'A Kerberos key has the wrong length for its encryption type'],
  ['kerberos_s2kparams_invalid', 500, 'The Kerberos string-to-key parameters are not valid'],
  [
    'kerberos_ciphertext_malformed',
    502,
    'A Kerberos ciphertext is too short for its encryption type',
  ],
  ['kerberos_integrity_failed', 502, 'A Kerberos ciphertext failed its integrity check'],
  ['kerberos_checksum_invalid', 502, 'A Kerberos checksum does not verify'],
  ['kerberos_keytab_too_large', 500, 'The keytab is larger than Bastion reads'],
  [
    'kerberos_keytab_permissions',
    500,
    'The keytab is not a regular file readable by its owner only (chmod 600)',
  ],
  ['kerberos_keytab_version_unsupported', 500, 'The keytab is not an MIT keytab of version 0x0502'],
  ['kerberos_keytab_malformed', 500, 'The keytab is malformed'],
  ['kerberos_keytab_no_key', 500, 'The keytab holds no key for this principal and encryption type'],
  ['kerberos_principal_invalid', 400, 'A Kerberos principal name is not valid'],
  ['kerberos_message_too_large', 502, 'A Kerberos message is larger than Bastion reads'],
  ['kerberos_der_invalid', 502, 'A Kerberos message is not valid DER: {}'],
  ['kerberos_encode_invalid', 500, 'A Kerberos message cannot be encoded: {}'],
  // Kerberos in-process: the client's exchanges with the KDC (AS, TGS, S4U2Self, S4U2Proxy)
  ['kerberos_kdc_unreachable', 503, 'No Kerberos KDC could be reached'],
  ['kerberos_kdc_timeout', 504, 'The Kerberos KDC did not answer in time'],
  ['kerberos_kdc_aborted', 503, 'The Kerberos request was cancelled'],
  [
    'kerberos_kdc_reply_malformed',
    502,
    'The Kerberos KDC sent a reply that is not a Kerberos reply',
  ],
  ['kerberos_kdc_error', 502, 'The Kerberos KDC refused the request'],
  ['kerberos_clock_skew', 502, "The clock differs from the Kerberos KDC's by more than it allows"],
  ['kerberos_principal_unknown', 403, 'The Kerberos principal is unknown to the KDC'],
  ['kerberos_service_unknown', 502, 'The Kerberos service principal is unknown to the KDC'],
  ['kerberos_preauth_failed', 502, "The Kerberos KDC refused the broker's key"],
  ['kerberos_reply_mismatch', 502, 'The Kerberos KDC reply does not match the request: {}'],
  [
    'kerberos_ticket_lifetime',
    502,
    'The Kerberos ticket is not valid now or lasts beyond the usable window',
  ],
  ['kerberos_not_delegatable', 403, 'The Kerberos user may not be delegated'],
  [
    'kerberos_delegation_refused',
    403,
    'The Kerberos KDC refused delegation to this service for this user',
  ],

  // GSS-API Kerberos (RFC 4121, SPNEGO RFC 4178): the initiator's context and wrap tokens
  ['kerberos_gss_token_invalid', 502, 'The GSS-API token from the target is malformed'],
  ['kerberos_gss_krb_error', 502, 'The target refused the Kerberos authentication (KRB-ERROR)'],
  ['kerberos_ap_rep_missing', 502, 'The target did not complete mutual authentication (no AP-REP)'],
  ['kerberos_ap_rep_invalid', 502, 'The AP-REP does not decrypt or decode under the session key'],
  [
    'kerberos_ap_rep_mismatch',
    502,
    "The AP-REP does not echo the authenticator's time: not the target the ticket names",
  ],
  ['kerberos_context_state', 500, 'The GSS-API context was used out of order'],
  ['kerberos_wrap_invalid', 502, 'A GSS-API wrap token is malformed'],
  ['kerberos_wrap_direction', 502, 'A GSS-API wrap token was not sent by the other side'],
  ['kerberos_wrap_unsealed', 502, 'A GSS-API wrap token is not encrypted'],
  [
    'kerberos_wrap_sequence',
    502,
    'A GSS-API wrap token is out of sequence (replayed, reordered or lost)',
  ],
  ['kerberos_wrap_too_large', 502, 'A GSS-API wrap token is larger than Bastion handles'],
  // The kerberos backend: its own refusals, before any KDC traffic
  ['kerberos_principal_unmapped', 403, 'The accord maps this principal to no Kerberos user'],
  ['kerberos_spn_not_delegated', 403, "The target's SPN is not one the broker may delegate to"],
  // Kerberos credentials handed to connectors (a KRB-CRED of one ticket and its session key)
  ['kerberos_krb_cred_invalid', 502, 'The Kerberos credential is not a KRB-CRED Bastion can use'],

  // Clients of the broker: the CLI and the MCP bridge
  ['broker_unreachable', 502, 'The broker could not be reached'],
  ['broker_bad_reply', 502, 'The broker sent a reply that is not JSON'],
  [
    'override_refused',
    403,
    "The connector and target come from the AC: leave them out, or pass the AC's own",
  ],
  [
    'ac_unknown_to_bridge',
    404,
    "This agent's key does not hold that AC: only the key an AC was issued to can use it",
  ],
  ['ac_pending_approval', 409, 'The AC is still waiting for approval'],
  ['result_too_large', 413, 'The result is too large to return: ask for less'],
] as const satisfies readonly CatalogEntry[];

export type ErrorCode = (typeof ENTRIES)[number][0];

export const ERROR_CATALOG: ReadonlyMap<string, ErrorSpec> = buildCatalog(ENTRIES);

/** Every declared code, in catalog order (for docs and tests). */
export const ERROR_CODES: readonly ErrorCode[] = ENTRIES.map(([code]) => code);
